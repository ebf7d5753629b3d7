"""The sidekick: a LangGraph agent that migrates a LoRA through tool calls."""
