"""The LoRA inspector: what a LoRA file is, what it was trained for, whether its weights are healthy, what to do."""

from tools.inspect.inspector import inspect_lora
from tools.inspect.report import InspectReport

__all__ = ["InspectReport", "inspect_lora"]
