"""What the library offers its faces (web/, cli/): pages, canned queries, the endpoint's process model and descriptions, reconciliation, validation, exports."""
