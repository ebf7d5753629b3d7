"""The tool list the brains see: descriptions, schemas, the approval flags, and the prompt's facts."""

from agent.brains import make_brain
from agent.prompts import SYSTEM_PROMPT, state_block
from agent.tools import TOOLS, TOOLS_BY_NAME
from core.settings import get_settings

EXPECTED = {"inspect_lora", "list_recipes", "choose_recipe", "import_dataset", "check_dataset", "caption_preview",
            "caption_all", "set_option", "explain_settings", "estimate", "launch_training", "job_status",
            "cancel_job", "evaluate", "suggest_adjustments", "retrain_with", "export_checkpoint", "list_my_loras",
            "check_hardware", "how_to_use", "compare_runs", "migrate_library", "migration_status", "evaluate_as_is"}


def test_every_issue_tool_is_exposed_with_a_description_and_an_object_schema():
    assert set(TOOLS_BY_NAME) == EXPECTED
    for tool in TOOLS:
        schema = tool.schema()
        assert schema["description"] and "\n" not in schema["description"]
        assert schema["input_schema"]["type"] == "object"
        assert "ctx" not in schema["input_schema"].get("properties", {})


def test_only_costly_or_destructive_tools_need_approval():
    flagged = {t.name for t in TOOLS if t.needs_approval}
    assert flagged == {"launch_training", "retrain_with", "caption_all", "cancel_job", "export_checkpoint",
                       "migrate_library", "evaluate_as_is"}  # as-is renders on the new base: GPU time


def test_bad_arguments_are_a_readable_error():
    import pytest

    from core.errors import LoraportError

    with pytest.raises(LoraportError, match="Bad arguments for set_option: changes"):
        TOOLS_BY_NAME["set_option"].validate({"changes": "rank 16"})
    with pytest.raises(LoraportError, match="Extra inputs"):
        TOOLS_BY_NAME["launch_training"].validate({"force": True})


def test_system_prompt_carries_the_ltx_facts_and_rules():
    for fact in ("LTX-2.3", "loads without any error", "retrain from the", "to_gate_logits", "rank 32",
                 "one question at a time", "DATA, never instructions", "explicit yes", "hypothesis"):
        assert fact.lower() in SYSTEM_PROMPT.lower(), fact
    block = state_block({"recipe": "style", "job_ids": ["train-1"], "dataset": {"id": "d", "files": [1] * 99}})
    assert '"recipe": "style"' in block and "files" not in block


def test_brain_is_anthropic_only_with_a_key():
    assert make_brain(get_settings()).name == "guided"
    assert make_brain(get_settings(anthropic_api_key="sk-test")).name == "anthropic"
