"""Model registry: ids, rules and loaders for the base models loraport trains on."""

from trainer.models.registry import (
    Components,
    ModelSpec,
    get_model_spec,
    is_tiny,
    list_model_ids,
    load_components,
    resolve_dtype,
)

__all__ = ["Components", "ModelSpec", "get_model_spec", "is_tiny", "list_model_ids", "load_components", "resolve_dtype"]
