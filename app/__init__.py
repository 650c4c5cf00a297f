"""Process wiring shared by the CLI and the server: folders, runtime, command implementations."""
