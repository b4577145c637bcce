"""Command-line interface (placeholder while building)."""


def main() -> None:
    pass
