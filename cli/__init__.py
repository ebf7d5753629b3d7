"""The `loraport` command line: a surface. Each command adapts one tool or agent call; no logic lives here."""
