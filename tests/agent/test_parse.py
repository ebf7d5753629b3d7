"""The guided brain's parser: common phrasings map to the right tool and arguments; the unreadable gets help."""

import pytest

from agent.brains.parse import parse

CASES = [
    # recipes, by name or by description
    ("use the character recipe", "choose_recipe", {"name": "character"}),
    ("it's a person", "choose_recipe", {"name": "character"}),
    ("it's my dog", "choose_recipe", {"name": "character"}),
    ("it's a painting style", "choose_recipe", {"name": "style"}),
    ("a watercolour look", "choose_recipe", {"name": "style"}),
    ("it's a camera dolly move", "choose_recipe", {"name": "motion"}),
    ("a person's face, from a reference clip", "choose_recipe", {"name": "face"}),
    ("use the face recipe", "choose_recipe", {"name": "face"}),
    ("it's a product, a sneaker", "choose_recipe", {"name": "object"}),
    ("recipe: motion", "choose_recipe", {"name": "motion"}),
    # settings
    ("rank 16", "set_option", {"changes": {"rank": "16"}}),
    ("lower the rank to 16", "set_option", {"changes": {"rank": "16"}}),
    ("set rank=8", "set_option", {"changes": {"rank": "8"}}),
    ("20% more steps", "set_option", {"changes": {"steps": "+20%"}}),
    ("10% fewer steps", "set_option", {"changes": {"steps": "-10%"}}),
    ("double the steps", "set_option", {"changes": {"steps": "x2"}}),
    ("3000 steps", "set_option", {"changes": {"steps": "3000"}}),
    ("lr 2e-4", "set_option", {"changes": {"learning_rate": "2e-4"}}),
    ("set the learning rate to 0.0001", "set_option", {"changes": {"learning_rate": "0.0001"}}),
    ("768x512", "set_option", {"changes": {"resolution": "768x512"}}),
    ("use 49 frames", "set_option", {"changes": {"frames": "49"}}),
    ("trigger word zorbly", "set_option", {"changes": {"trigger": "zorbly"}}),
    ("make the trigger ZorblyCat", "set_option", {"changes": {"trigger": "ZorblyCat"}}),
    ("alpha 16", "set_option", {"changes": {"alpha": "16"}}),
    ("batch size 2", "set_option", {"changes": {"batch_size": "2"}}),
    ("use a cosine schedule", "set_option", {"changes": {"schedule": "cosine"}}),
    ("switch the model to ltx-2.3", "set_option", {"changes": {"model": "ltx-2.3"}}),
    ("rank 4, steps 2, 64x64, 9 frames", "set_option",
     {"changes": {"rank": "4", "steps": "2", "resolution": "64x64", "frames": "9"}}),
    # the job
    ("start", "launch_training", {}),
    ("start training", "launch_training", {}),
    ("let's go", "launch_training", {}),
    ("status", "job_status", {}),
    ("how's the training going?", "job_status", {}),
    ("cancel", "cancel_job", {}),
    ("stop the job", "cancel_job", {}),
    ("evaluate", "evaluate", {}),
    ("how good is it?", "evaluate", {}),
    ("what should I change?", "suggest_adjustments", {}),
    ("how long will it take?", "estimate", {}),
    # explanations
    ("what does rank do?", "explain_settings", {"setting": "rank"}),
    ("why that learning rate?", "explain_settings", {"setting": "learning_rate"}),
    ("explain the plan", "explain_settings", {}),
    # history
    ("retrain my style LoRA with 20% more steps", "retrain_with", {"changes": {"steps": "+20%"}, "recipe": "style"}),
    ("same again but rank 16", "retrain_with", {"changes": {"rank": "16"}}),
    ("train it again with lr 5e-5", "retrain_with", {"changes": {"learning_rate": "5e-5"}}),
    ("list my loras", "list_my_loras", {}),
    ("show my style loras", "list_my_loras", {"recipe": "style"}),
    ("which recipes are there?", "list_recipes", {}),
    # data
    ("/data/old/my_lora.safetensors", "inspect_lora", {"path": "/data/old/my_lora.safetensors"}),
    ('my lora is "/tmp/a b/old.safetensors"', "inspect_lora", {"path": "/tmp/a b/old.safetensors"}),
    ("the clips are in clips.zip", "import_dataset", {"source": "clips.zip"}),
    ("my clips live in /no/such/folder", "import_dataset", {"source": "/no/such/folder"}),
    ("caption a preview", "caption_preview", {}),
    ("caption all of them", "caption_all", {}),
    ("check the dataset", "check_dataset", {}),
]


@pytest.mark.parametrize(("text", "tool", "args"), CASES, ids=[c[0] for c in CASES])
def test_phrasing_maps_to_tool_and_args(text, tool, args):
    intents = parse(text)
    assert [(i.kind, i.tool, i.args) for i in intents] == [("tool", tool, args)]


def test_folder_path_is_a_dataset(tmp_path):
    (tmp_path / "clips").mkdir()
    [intent] = parse(f"my clips: {tmp_path / 'clips'}")
    assert (intent.tool, intent.args) == ("import_dataset", {"source": str(tmp_path / "clips")})


def test_recipe_and_setting_in_one_message_give_two_calls():
    assert [(i.tool, i.args) for i in parse("it's a style, rank 16")] == [
        ("choose_recipe", {"name": "style"}), ("set_option", {"changes": {"rank": "16"}})]


@pytest.mark.parametrize("text", ["make me a sandwich", "blorp", "what's the weather in Paris"])
def test_unreadable_request_is_unknown_not_a_guess(text):
    assert [i.kind for i in parse(text)] == ["unknown"]


@pytest.mark.parametrize(("text", "kind"), [("help", "help"), ("", "help"), ("skip", "skip"),
                                            ("I don't have the old lora", "skip"), ("yes", "yes"), ("no", "no"),
                                            ("hello there", "greeting")])
def test_conversation_words(text, kind):
    assert [i.kind for i in parse(text)] == [kind]
