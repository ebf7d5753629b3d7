"""Shared foundation beneath every layer: settings, the workspace, the store, errors, events, atomic writes."""
