"""Tools: one typed function per capability, shared by the agent, the CLI and the REST API."""
