"""Everyday phrasings, in families, as people type them: each maps to the right tools and arguments.

The families are the ones users fall into (number words, "W by H", relative changes, questions that also ask
for a change, follow-ups about the file, the card and earlier runs, greetings and stories). ``last`` is the
setting the conversation was about before ("back to 32" means it).
"""

import pytest

from agent.brains.parse import parse

SET = "set_option"
EXPLAIN = "explain_settings"


def _read(text: str, last: str | None = "rank") -> list[tuple]:
    return [(i.tool or i.kind, i.args) for i in parse(text, last)]


def _changes(text: str, last: str | None = "rank") -> dict:
    [changes] = [i.args["changes"] for i in parse(text, last) if i.tool == SET]
    return changes


ABSOLUTE = [
    ("set rank to 16", {"rank": "16"}), ("Rank: 16.", {"rank": "16"}), ("can we try rank 8?", {"rank": "8"}),
    ("I think rank 64 would be better", {"rank": "64"}), ("rank should be 128", {"rank": "128"}),
    ("bump rank up to 64", {"rank": "64"}), ("go with rank 8", {"rank": "8"}), ("rank of 24", {"rank": "24"}),
    ("make rank 32 again", {"rank": "32"}), ("rank → 16", {"rank": "16"}), ("I'd like rank 64", {"rank": "64"}),
    ("change lr to 0.0002", {"learning_rate": "0.0002"}), ("lr=5e-5", {"learning_rate": "5e-5"}),
    ("learning rate 3e-5 please", {"learning_rate": "3e-5"}), ("learning rate to 1e-4", {"learning_rate": "1e-4"}),
    ("use a learning rate of 0.00015", {"learning_rate": "0.00015"}), ("1500 steps", {"steps": "1500"}),
    ("let's do 2500 steps", {"steps": "2500"}), ("train for 3000 steps", {"steps": "3000"}),
    ("let's train for 800 steps instead", {"steps": "800"}), ("steps: 4000", {"steps": "4000"}),
    ("only 500 steps", {"steps": "500"}), ("steps should be 1500", {"steps": "1500"}),
    ("seed 7", {"seed": "7"}), ("alpha 8", {"alpha": "8"}), ("batch of 2", {"batch_size": "2"}),
    ("checkpoint every 250 steps", {"checkpoint_every": "250"}), ("save every 500 steps", {"checkpoint_every": "500"}),
    ("could you lower the lr to 5e-5?", {"learning_rate": "5e-5"}), ("lower the rank from 32 to 16", {"rank": "16"}),
    ("rank 4 steps 2", {"rank": "4", "steps": "2"}), ("set rank to 16 and 3000 steps", {"rank": "16", "steps": "3000"}),
]
NUMBER_WORDS = [
    ("can you set the rank to sixteen please", {"rank": "16"}), ("let's go with a rank of thirty two", {"rank": "32"}),
    ("train for three thousand steps", {"steps": "3000"}), ("twelve hundred steps", {"steps": "1200"}),
    ("two thousand five hundred steps", {"steps": "2500"}), ("a hundred steps", {"steps": "100"}),
    ("do two thousand steps", {"steps": "2000"}), ("let's use forty nine frames", {"frames": "49"}),
    ("ninety seven frames", {"frames": "97"}), ("thirty-three frames", {"frames": "33"}),
    ("batch size four", {"batch_size": "4"}), ("set batch size to two", {"batch_size": "2"}),
    ("rank twenty four", {"rank": "24"}), ("3k steps", {"steps": "3000"}), ("1.5k steps", {"steps": "1500"}),
    ("just ten steps please", {"steps": "10"}),
]
SIZES = [
    ("768 by 512 please", {"resolution": "768x512"}), ("make it 768 x 512", {"resolution": "768x512"}),
    ("resolution 1024x576", {"resolution": "1024x576"}), ("train at 512 by 512", {"resolution": "512x512"}),
    ("1280 by 720", {"resolution": "1280x720"}), ("960x544 please", {"resolution": "960x544"}),
    ("can we train at 768 by 768?", {"resolution": "768x768"}), ("768×512", {"resolution": "768x512"}),
    ("use 97 frames", {"frames": "97"}), ("97 frames please", {"frames": "97"}), ("frames to 121", {"frames": "121"}),
    ("make the clips 49 frames", {"frames": "49"}), ("use 25 frames instead", {"frames": "25"}),
    ("set frames to 33", {"frames": "33"}), ("what about 49 frames?", {"frames": "49"}),
    ("rank 4, steps 2, 64x64, 9 frames", {"rank": "4", "steps": "2", "resolution": "64x64", "frames": "9"}),
]
RELATIVE = [
    ("halve the steps", {"steps": "x0.5"}), ("double the rank", {"rank": "x2"}), ("a bit more steps", {"steps": "+20%"}),
    ("20 percent more steps", {"steps": "+20%"}), ("increase steps by 20%", {"steps": "+20%"}),
    ("500 more steps", {"steps": "+500"}), ("add 500 steps", {"steps": "+500"}), ("20% fewer steps", {"steps": "-20%"}),
    ("reduce steps by 10 percent", {"steps": "-10%"}), ("steps +25%", {"steps": "+25%"}), ("steps x2", {"steps": "x2"}),
    ("twice as many steps", {"steps": "x2"}), ("half as many steps", {"steps": "x0.5"}),
    ("cut the steps in half", {"steps": "x0.5"}), ("cut the steps by half", {"steps": "x0.5"}),
    ("increase the steps by a quarter", {"steps": "+25%"}), ("more steps", {"steps": "+50%"}),
    ("fewer steps please", {"steps": "-50%"}), ("way more steps", {"steps": "x2"}), ("train longer", {"steps": "+50%"}),
    ("train a bit longer please", {"steps": "+20%"}), ("lower the learning rate a bit", {"learning_rate": "-20%"}),
    ("make the learning rate a bit higher", {"learning_rate": "+20%"}), ("can you halve the lr", {"learning_rate": "x0.5"}),
    ("bring the learning rate down a bit", {"learning_rate": "-20%"}), ("raise the rank a little", {"rank": "+20%"}),
    ("lower the rank", {"rank": "-50%"}), ("halve the learning rate", {"learning_rate": "x0.5"}),
]
FOLLOW_UPS = [  # about the setting the conversation was on ("rank")
    ("double it", {"rank": "x2"}), ("halve it", {"rank": "x0.5"}), ("a bit more", {"rank": "+20%"}),
    ("a little lower please", {"rank": "-20%"}), ("put it back to 32", {"rank": "32"}),
    ("back to 32 please", {"rank": "32"}), ("set it back to 16", {"rank": "16"}), ("use 16 instead", {"rank": "16"}),
]
CHOICES = [
    ("use the cosine schedule", {"schedule": "cosine"}), ("switch to a linear schedule", {"schedule": "linear"}),
    ("constant learning rate schedule", {"schedule": "constant"}), ("schedule: cosine", {"schedule": "cosine"}),
    ("use 8-bit adam", {"optimizer": "adamw8bit"}), ("use adamw8bit", {"optimizer": "adamw8bit"}),
    ("turn off gradient checkpointing", {"gradient_checkpointing": "false"}),
    ("switch the model to ltx-2.3", {"model": "ltx-2.3"}), ("use the LTX 2.3 model", {"model": "ltx-2.3"}),
]
TRIGGERS = [
    ("trigger word zorbly", "zorbly"), ("make the trigger ZorblyCat", "ZorblyCat"),
    ('set the trigger to "zorbly style"', "zorbly style"), ("call the trigger ohwx man", "ohwx man"),
    ("trigger phrase: sks dog", "sks dog"), ('use "zorbly style" as the trigger', "zorbly style"),
    ("use ohwx man as the trigger", "ohwx man"), ("the trigger should be zorbly", "zorbly"),
    ("change the trigger to zorbly style please", "zorbly style"), ("make the trigger 'sks person'", "sks person"),
    ("trigger: zorbly style.", "zorbly style"), ("set trigger to “ohwx man”", "ohwx man"),
]


@pytest.mark.parametrize(("text", "changes"), ABSOLUTE + NUMBER_WORDS + SIZES + RELATIVE + FOLLOW_UPS + CHOICES,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_setting_change_is_read_with_its_value(text, changes):
    assert _read(text) == [(SET, {"changes": changes})]


@pytest.mark.parametrize(("text", "trigger"), TRIGGERS, ids=[t for t, _ in TRIGGERS])
def test_a_trigger_of_one_or_several_words_is_kept_as_written(text, trigger):
    assert _changes(text) == {"trigger": trigger}


def test_a_trigger_and_a_setting_in_one_sentence():
    assert _changes("make the trigger zorbly style and rank 16") == {"trigger": "zorbly style", "rank": "16"}
    assert _changes("keep the trigger zorbly style and use rank 16") == {"rank": "16", "trigger": "zorbly style"}


QUESTION_THEN_CHANGE = [
    ("rank 1 seems really low, why that? can we use 16 instead", "rank", {"rank": "16"}),
    ("why is rank 32? I'd prefer 16", "rank", {"rank": "16"}),
    ("why rank 32? 16 please", "rank", {"rank": "16"}),
    ("the rank is too high, use 8", "rank", {"rank": "8"}),
    ("why so many steps? let's do 1000", "steps", {"steps": "1000"}),
    ("why is it 2000 steps, can we halve that", "steps", {"steps": "x0.5"}),
    ("what does the learning rate do? set it to 5e-5", "learning_rate", {"learning_rate": "5e-5"}),
]


@pytest.mark.parametrize(("text", "setting", "changes"), QUESTION_THEN_CHANGE, ids=[q[0] for q in QUESTION_THEN_CHANGE])
def test_a_question_that_also_asks_for_a_change_is_answered_then_changed(text, setting, changes):
    assert _read(text, None) == [(EXPLAIN, {"setting": setting}), (SET, {"changes": changes})]


QUESTIONS = [
    ("what does rank do?", "rank"), ("why that learning rate?", "learning_rate"), ("what's a trigger word", "trigger"),
    ("explain alpha", "alpha"), ("how does the resolution matter", "resolution"), ("is 2000 steps enough?", "steps"),
    ("rank 16 is too high, what does it do?", "rank"), ("is rank 16 too high?", "rank"),
    ("should the rank be 16?", "rank"), ("is rank 16 better?", "rank"), ("do I need more steps?", "steps"),
    ("rank 1 seems really low", "rank"), ("what's the learning rate for?", "learning_rate"),
    ("why?", "rank"), ("why that?", "rank"), ("why so high?", "rank"), ("what does the trigger do?", "trigger"),
]


@pytest.mark.parametrize(("text", "setting"), QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_a_question_about_a_setting_explains_it_and_changes_nothing(text, setting):
    assert _read(text) == [(EXPLAIN, {"setting": setting})]


COMMANDS = [
    ("what is the status", "job_status"), ("how's it going?", "job_status"), ("how far along is it", "job_status"),
    ("is it done yet?", "job_status"), ("any news?", "job_status"), ("still training?", "job_status"),
    ("how long will it take", "estimate"), ("how much disk will it need", "estimate"),
    ("stop", "cancel_job"), ("stop training please", "cancel_job"), ("cancel it", "cancel_job"),
    ("abort the run", "cancel_job"), ("how did it turn out?", "evaluate"), ("did it work?", "evaluate"),
    ("is the new lora any good", "evaluate"), ("evaluate it", "evaluate"), ("check the results", "evaluate"),
    ("where is my file?", "how_to_use"), ("where's the lora file and how do I use it in ComfyUI?", "how_to_use"),
    ("how do I load it in comfy", "how_to_use"), ("what strength should I use", "how_to_use"),
    ("where did it save?", "how_to_use"), ("how does this compare to the first run?", "compare_runs"),
    ("is it better than last time?", "compare_runs"), ("compare the two runs", "compare_runs"),
    ("which LoRAs do I have", "list_my_loras"), ("what loras have I trained so far?", "list_my_loras"),
    ("list my runs", "list_my_loras"), ("what recipes are there", "list_recipes"),
    ("which recipe should I use?", "list_recipes"), ("what can I train?", "list_recipes"),
    ("export the best checkpoint", "export_checkpoint"), ("save that checkpoint", "export_checkpoint"),
    ("what should I change?", "suggest_adjustments"), ("any tips to improve it?", "suggest_adjustments"),
    ("how can I make it better", "suggest_adjustments"), ("caption a few clips", "caption_preview"),
    ("caption all of them", "caption_all"), ("check my clips", "check_dataset"), ("show me the plan", EXPLAIN),
    ("what are the settings?", EXPLAIN), ("explain everything", EXPLAIN), ("start", "launch_training"),
    ("ok start", "launch_training"), ("go for it", "launch_training"), ("let's go", "launch_training"),
    ("kick it off", "launch_training"), ("fire it up!", "launch_training"), ("start training now", "launch_training"),
]


@pytest.mark.parametrize(("text", "tool"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_in_everyday_words_picks_its_tool(text, tool):
    assert [t for t, _ in _read(text)] == [tool]


def test_list_my_loras_of_one_recipe():
    assert _read("show me my style loras") == [("list_my_loras", {"recipe": "style"})]


HARDWARE = ["will this fit on my 4090?", "can I train this on a 24 GB card?", "I have a 3090, is that enough?",
            "will it run on my macbook", "do I have enough vram", "rank 16 on my 4090 - will it fit?",
            "is an A100 enough for this?", "what about a 16gb card"]


@pytest.mark.parametrize("text", HARDWARE)
def test_a_hardware_question_goes_to_the_memory_check_with_the_card_named(text):
    [(tool, args)] = _read(text)
    assert tool == "check_hardware" and args["question"]


def test_a_change_and_a_hardware_question_in_one_message():
    assert [t for t, _ in _read("can I use rank 64 with 24gb?")] == [SET, "check_hardware"]
    assert _changes("can I use rank 64 with 24gb?") == {"rank": "64"}


RETRAIN = [
    ("retrain with 20% more steps", {"changes": {"steps": "+20%"}}),
    ("let's try the second suggestion", {"changes": {}, "suggestion": 2}),
    ("retrain with suggestion 2", {"changes": {}, "suggestion": 2}),
    ("same again but rank 16", {"changes": {"rank": "16"}}),
    ("train it again with fewer steps", {"changes": {"steps": "-50%"}}),
    ("retrain my character lora with lr 5e-5", {"changes": {"learning_rate": "5e-5"}, "recipe": "character"}),
]


@pytest.mark.parametrize(("text", "args"), RETRAIN, ids=[r[0] for r in RETRAIN])
def test_retrain_requests(text, args):
    assert _read(text) == [("retrain_with", args)]


TALK = [
    ("sure", "yes"), ("yep", "yes"), ("Sure thing!", "yes"), ("sounds good", "yes"), ("no", "no"), ("nope", "no"),
    ("not now", "no"), ("hi", "greeting"), ("hello there!", "greeting"), ("hey, good morning", "greeting"),
    ("thanks!", "thanks"), ("thank you so much", "thanks"), ("what now?", "next"), ("what's next", "next"),
    ("help", "help"), ("what can you do?", "help"), ("skip", "skip"), ("I don't have the old file", "skip"),
    ("let's start from scratch", "skip"), ("my old LoRA broke after the update", "story"),
    ("my LTX-2 style lora doesn't work on 2.3 anymore", "story"),
    ("I want to port my old character LoRA to the new model", "story"),
    ("make me a sandwich", "unknown"), ("what's the weather in Paris", "unknown"), ("blorp", "unknown"),
]


@pytest.mark.parametrize(("text", "kind"), TALK, ids=[t[0] for t in TALK])
def test_conversation_moves(text, kind):
    assert [k for k, _ in _read(text)] == [kind]


def test_a_story_carries_the_recipe_it_describes():
    assert _read("hi! I trained a lora of my dog on ltx-2 and it stopped working") == [
        ("story", {"recipe": "character"})]
    assert _read("my LTX-2 style lora doesn't work on 2.3 anymore") == [("story", {"recipe": "style"})]


RECIPE_WORDS = [
    ("it's a person", "character"), ("it's my cat", "character"), ("a painting style", "style"),
    ("it's a camera move, a slow dolly in", "motion"), ("it's a product shot of a sneaker", "object"),
    ("the face of a specific actor from a reference clip", "face"), ("it teaches a watercolour look", "style"),
    ("use the motion recipe", "motion"), ("the style one", "style"),
]


@pytest.mark.parametrize(("text", "recipe"), RECIPE_WORDS, ids=[r[0] for r in RECIPE_WORDS])
def test_a_description_picks_the_recipe_whose_keywords_it_carries(text, recipe):
    assert _read(text) == [("choose_recipe", {"name": recipe})]


PATHS = [
    ("the clips are in (/data/clips)", "import_dataset", {"source": "/data/clips"}),
    ("here is my lora [/tmp/old.safetensors]", "inspect_lora", {"path": "/tmp/old.safetensors"}),
    ("(/path/old.safetensors)", "inspect_lora", {"path": "/path/old.safetensors"}),
    ('my lora: "/tmp/a b/old lora.safetensors"', "inspect_lora", {"path": "/tmp/a b/old lora.safetensors"}),
    ("'/data/clips.zip'", "import_dataset", {"source": "/data/clips.zip"}),
    ("the old one is at </x/y/z.safetensors>.", "inspect_lora", {"path": "/x/y/z.safetensors"}),
    ("clips: `/data/set`", "import_dataset", {"source": "/data/set"}),
]


@pytest.mark.parametrize(("text", "tool", "args"), PATHS, ids=[p[0] for p in PATHS])
def test_a_path_in_brackets_or_quotes_is_read_without_them(text, tool, args):
    assert _read(text) == [(tool, args)]


def test_a_path_with_a_recipe_and_a_change_in_one_message():
    assert [t for t, _ in _read("here: /tmp/z.safetensors, it's a style, rank 16")] == [
        "inspect_lora", "choose_recipe", SET]


@pytest.mark.parametrize("text", [t for t, _ in ABSOLUTE + SIZES + RELATIVE + CHOICES] + [t for t, _ in TRIGGERS])
def test_a_change_of_setting_never_proposes_a_launch(text):
    assert "launch_training" not in [t for t, _ in _read(text)]


SECONDS = [("I want 5 seconds of video", {"frames": "121"}), ("clips of 2 seconds", {"frames": "49"}),
           ("how about 3 seconds", {"frames": "73"}), ("make it 2s clips", {"frames": "49"})]


@pytest.mark.parametrize(("text", "changes"), SECONDS, ids=[s[0] for s in SECONDS])
def test_seconds_of_video_become_frames_of_the_8k_plus_1_rule(text, changes):
    assert _read(text) == [(SET, {"changes": changes})]


MIXED = [
    ("that's too many, make it 1500", "steps", [(SET, {"changes": {"steps": "1500"}})]),
    ("rank 128 seems like overkill, can we do 64?", None,
     [(EXPLAIN, {"setting": "rank"}), (SET, {"changes": {"rank": "64"}})]),
    ("Could you retrain it with a higher rank, like 32?", None, [("retrain_with", {"changes": {"rank": "32"}})]),
    ("Can you lower the rank to 16? My GPU only has 24GB", None,
     [(SET, {"changes": {"rank": "16"}}), ("check_hardware", {"question": "can you lower the rank to 16? my gpu only has 24gb"})]),
    ("whats the difference between rank and alpha", None, [(EXPLAIN, {"setting": "rank"}),
                                                            (EXPLAIN, {"setting": "alpha"})]),
    ("what kind of loras can you train", None, [("list_recipes", {})]),
    ("which one of my runs was best?", None, [("compare_runs", {})]),
    ("what's going on with the job?", None, [("job_status", {})]),
    ("how's it looking", None, [("job_status", {})]),
    ("Where do I find the lora?", None, [("how_to_use", {})]),
    ("actually, never mind", None, [("no", {})]),
    ("Hey there! So I had this LoRA for LTX-2 of my girlfriend and it's not working anymore with 2.3, can you help?",
     None, [("story", {"recipe": "character"})]),
    ("ok looks good, let's start", None, [("launch_training", {})]),
]


@pytest.mark.parametrize(("text", "last", "expected"), MIXED, ids=[m[0] for m in MIXED])
def test_sentences_as_people_write_them(text, last, expected):
    assert _read(text, last) == expected


TYPOS = [("rnak 16", {"rank": "16"}), ("stpes: 500", {"steps": "500"}), ("freams 49", {"frames": "49"}),
         ("alpah 8", {"alpha": "8"}), ("set the lerning rate to 2e-4", {"learning_rate": "2e-4"})]


@pytest.mark.parametrize(("text", "changes"), TYPOS, ids=[t[0] for t in TYPOS])
def test_a_setting_name_typed_a_letter_wrong_is_still_read(text, changes):
    assert _read(text) == [(SET, {"changes": changes})]


@pytest.mark.parametrize("text", ["the clips are in 2 folders", "tell me 16 things", "my cat is 3 years old"])
def test_a_number_beside_ordinary_words_is_not_a_setting(text):
    assert SET not in [t for t, _ in _read(text, None)]


MORE_MOVES = [
    ("I think it's more of a motion thing", [("choose_recipe", {"name": "motion"})]),
    ("pick the recipe for me", [("yes", {})]), ("you choose", [("yes", {})]), ("apply that", [("yes", {})]),
    ("is my dataset big enough?", [("check_dataset", {})]), ("do I have enough clips?", [("check_dataset", {})]),
    ("try suggestion 1", [("retrain_with", {"changes": {}, "suggestion": 1})]),
    ("go with the first suggestion", [("retrain_with", {"changes": {}, "suggestion": 1})]),
    ("do it again with rank 32", [("retrain_with", {"changes": {"rank": "32"}})]),
    ("what's up", [("greeting", {})]), ("I'm confused", [("next", {})]), ("start over", [("restart", {})]),
    ("undo", [("undo", {})]), ("put it back", [("undo", {})]), ("revert that", [("undo", {})]),
    ("yes but change the rank to 16 first", [(SET, {"changes": {"rank": "16"}})]),
    ("go ahead but with 1000 steps", [(SET, {"changes": {"steps": "1000"}})]),
]


@pytest.mark.parametrize(("text", "expected"), MORE_MOVES, ids=[m[0] for m in MORE_MOVES])
def test_more_conversation_moves(text, expected):
    assert _read(text) == expected


TERSE = [
    ("r=16", [(SET, {"changes": {"rank": "16"}})]),
    ("rank=32, lr=1e-4, steps=2000", [(SET, {"changes": {"rank": "32", "learning_rate": "1e-4", "steps": "2000"}})]),
    ("steps 3000 and rank 64 and lr 2e-4",
     [(SET, {"changes": {"steps": "3000", "rank": "64", "learning_rate": "2e-4"}})]),
    ("can u make it train for longer", [(SET, {"changes": {"steps": "+50%"}})]),
    ("720p please", [(SET, {"changes": {"resolution": "1280x704"}})]),
    ("1080p", [(SET, {"changes": {"resolution": "1920x1088"}})]),
    ("can I train at 1080p?", [(EXPLAIN, {"setting": "resolution"})]),
    ("lets goooo", [("launch_training", {})]), ("go go go", [("launch_training", {})]),
    ("ok cool start training", [("launch_training", {})]), ("sure thing, start it", [("launch_training", {})]),
    ("yeah do it", [("yes", {})]), ("k", [("yes", {})]), ("👍", [("yes", {})]), ("yes!!", [("yes", {})]),
    ("nope not yet", [("no", {})]), ("hold on a sec", [("no", {})]),
    ("wtf is rank", [(EXPLAIN, {"setting": "rank"})]),
    ("explain the learning rate to me like I'm five", [(EXPLAIN, {"setting": "learning_rate"})]),
    ("what's the point of the trigger word", [(EXPLAIN, {"setting": "trigger"})]),
    ("is 49 frames enough for a dance?", [(EXPLAIN, {"setting": "frames"})]),
    ("C:\\Users\\me\\loras\\old.safetensors", [("inspect_lora", {"path": "C:\\Users\\me\\loras\\old.safetensors"})]),
    ("file at /data/style_v2.safetensors thanks", [("inspect_lora", {"path": "/data/style_v2.safetensors"})]),
]


@pytest.mark.parametrize(("text", "expected"), TERSE, ids=[t[0] for t in TERSE])
def test_terse_and_chatty_messages(text, expected):
    assert _read(text) == expected


OLD_VS_NEW = ["is the new one better than my old one?", "compare it to my old lora",
              "how does the new lora compare against the old one"]


@pytest.mark.parametrize("text", OLD_VS_NEW)
def test_a_comparison_with_the_old_lora_is_the_evaluation(text):
    assert _read(text) == [("evaluate", {})]


@pytest.mark.parametrize(("text", "recipe"), [("use the charachter recipe", "character"), ("stlye", "style"),
                                              ("the mtion one", "motion"), ("motion please", "motion")])
def test_a_recipe_name_typed_a_letter_wrong(text, recipe):
    assert _read(text) == [("choose_recipe", {"name": recipe})]


ABOUT = [("why do I need to retrain?", "why_retrain"), ("can't I just use my old lora on 2.3?", "why_retrain"),
         ("what's different in ltx 2.3?", "why_retrain"), ("will my old prompts still work?", "why_retrain"),
         ("is it going to cost money?", "how_it_runs"), ("does it run locally?", "how_it_runs"),
         ("can I close the browser?", "how_it_runs"), ("what happens next?", "next")]


@pytest.mark.parametrize(("text", "kind"), ABOUT, ids=[a[0] for a in ABOUT])
def test_questions_about_the_migration_itself_are_answered_not_acted_on(text, kind):
    assert _read(text) == [(kind, {})]


def test_a_version_number_is_not_a_setting_value():
    assert _read("switch to 2.5") == [(SET, {"changes": {"model": "ltx-2.5"}})]
    assert _read("my clips already have captions") == [("check_dataset", {})]


AFTER_EVALUATION = [
    ("why is it weak?", "suggest_adjustments"), ("what should I do to make it stronger?", "suggest_adjustments"),
    ("ok let's do what you suggested", "retrain_with"), ("make a new one with rank 64", "retrain_with"),
    ("I want to use checkpoint 750 instead", "export_checkpoint"), ("give me the best one", "export_checkpoint"),
    ("send me the file", "how_to_use"), ("what prompt should I use?", "how_to_use"),
    ("so is it good or not?", "evaluate"), ("can I download it?", "how_to_use"), ("bye", "thanks"),
    ("train it longer then", SET),
]


@pytest.mark.parametrize(("text", "tool"), AFTER_EVALUATION, ids=[a[0] for a in AFTER_EVALUATION])
def test_follow_ups_after_an_evaluation(text, tool):
    assert [t for t, _ in _read(text)] == [tool]


def test_a_checkpoint_or_job_number_is_a_name_not_a_value():
    assert SET not in [t for t, _ in _read("I want to use checkpoint 750 instead")]
    assert _read("retrain with rank 16 from job 12ab") == [
        ("retrain_with", {"changes": {"rank": "16"}, "job_id": "12ab"})]
