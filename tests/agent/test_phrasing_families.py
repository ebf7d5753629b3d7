"""Families of phrasing, generated from their parts the way different people combine them: a negation with any
launch verb and any tail, a number in any spelling with any way of naming its setting, a correction in any
form. Each family states the rule the guided brain's reader must follow for all of its members, so a new way
of saying one part is checked against every other part.
"""

import itertools

import pytest

from agent import words
from agent.brains.parse import parse
from agent.brains.slots import normalise

SET = "set_option"


def _tools(text: str, last: str | None = None) -> list[str]:
    return [i.tool or i.kind for i in parse(text, last)]


def _changes(text: str, last: str | None = None) -> dict:
    found = [i.args["changes"] for i in parse(text, last) if i.tool in (SET, "retrain_with")]
    return found[0] if found else {}


NEGATIONS = ["don't", "dont", "do not", "please don't", "no, don't", "no don't", "i don't want to", "never",
             "i do not want you to", "better not"]
LAUNCHES = ["start", "start training", "start it", "launch it", "launch", "kick it off", "begin training",
            "start the run", "go ahead and train"]
TAILS = ["", " yet", " just yet", " until i say so", " now", ", i want to check the clips first", "!"]


@pytest.mark.parametrize("neg", NEGATIONS)
def test_a_negated_launch_never_launches_nor_approves(neg):
    for launch, tail in itertools.product(LAUNCHES, TAILS):
        text = f"{neg} {launch}{tail}"
        assert "launch_training" not in _tools(text), text
        assert words.answer(text) != "yes", text


@pytest.mark.parametrize("neg", ["don't", "dont", "do not", "never", "no need to", "i don't want to"])
def test_a_negated_retrain_or_cancel_does_nothing(neg):
    for verb in ("retrain it", "retrain with more steps", "cancel the job", "stop training", "redo it",
                 "caption all the clips", "export the best checkpoint"):
        assert _tools(f"{neg} {verb}") == ["no"], f"{neg} {verb}"


NEGATED_SETTINGS = ["not rank 64", "don't set the rank to 64", "i don't want rank 64", "dont make it 3000 steps",
                    "do not change the learning rate to 1e-3", "never use 97 frames", "don't use 768x512",
                    "no need to change the rank", "i'd rather not use rank 64", "don't double the steps",
                    "don't halve the learning rate", "no more steps please"]


@pytest.mark.parametrize("text", NEGATED_SETTINGS)
def test_a_negated_setting_change_changes_nothing(text):
    assert SET not in _tools(text, "rank") and _tools(text, "rank") == ["no"]


SWITCHES = [  # a negated switch goes the one other way, or nowhere
    ("don't use 8-bit adam", {"optimizer": "adamw"}), ("dont use the 8bit optimizer", {"optimizer": "adamw"}),
    ("do not enable vae tiling", {"vae_tiling": "false"}), ("don't use gradient checkpointing",
                                                             {"gradient_checkpointing": "false"}),
    ("no audio", {"audio": "off"}), ("no sound please", {"audio": "off"}), ("train it without audio",
                                                                           {"audio": "off"}),
    ("keep the sound", {"audio": "on"}), ("train the voice too", {"audio": "on"}),
    ("dont train the voice", {"audio": "off"}), ("do not learn the sound", {"audio": "off"}),
    ("don't quantize the base to nf4", {"quantize_base": "none"}), ("switch to adamw", {"optimizer": "adamw"}),
    ("don't use cosine", {}),  # three schedules: which one instead is not said, so nothing changes
]


@pytest.mark.parametrize(("text", "changes"), SWITCHES, ids=[s[0] for s in SWITCHES])
def test_switches_said_with_or_without_a_negation(text, changes):
    assert _changes(text) == changes


LR_SPELLINGS = ["2e-4", "2E-4", "2e-04", "2 e-4", "0.0002", ".0002", "0,0002", "2,0e-4", "2x10^-4", "2 x 10^-4",
                "2*10^-4"]
LR_FRAMES = ["lr {}", "lr={}", "learning rate {}", "set the learning rate to {}", "can u make the lr {}",
             "change lr to {} please", "Learning-rate: {}", "use a learning rate of {}"]


@pytest.mark.parametrize("frame", LR_FRAMES)
def test_a_learning_rate_in_any_spelling(frame):
    for spelling in LR_SPELLINGS:
        text = frame.format(spelling)
        assert float(_changes(text)["learning_rate"]) == pytest.approx(2e-4), text


STEP_SPELLINGS = ["1500", "1,500", "1.5k", "fifteen hundred", "one thousand five hundred"]
STEP_FRAMES = ["{} steps", "train for {} steps", "steps to {}", "make it {} steps", "set steps={}",
               "lets do {} steps instead", "can we try {} steps?", "{} iterations"]


@pytest.mark.parametrize("frame", STEP_FRAMES)
def test_a_step_count_in_any_spelling(frame):
    for spelling in STEP_SPELLINGS:
        text = frame.format(spelling)
        assert float(_changes(text)["steps"]) == 1500, text


@pytest.mark.parametrize(("text", "value"), [("a couple thousand steps", "2000"), ("a couple of hundred steps", "200"),
                                             ("rank thirtytwo", "32"), ("rank16", "16"), ("steps2000", "2000"),
                                             ("twenty four frames", None)])
def test_numbers_glued_or_in_words(text, value):
    changes = _changes(text)
    if value is None:  # 24 is no 8k+1 frame count: the plan refuses it with the rule, the reader keeps it
        assert changes == {"frames": "24"}
    else:
        assert list(changes.values()) == [value]


CORRECTIONS = ["actually {}", "actually make it {}", "no wait, {}", "make it {} instead", "sorry i meant {}",
               "hmm {} instead", "{} actually", "i mean {}", "correction: {}", "rather {}"]


@pytest.mark.parametrize("frame", CORRECTIONS)
def test_a_correction_changes_the_setting_just_talked_about(frame):
    assert _changes(frame.format(1200), "steps") == {"steps": "1200"}


@pytest.mark.parametrize("frame", ["actually {}", "make it {}", "{} please"])
def test_a_bare_number_with_nothing_talked_about_is_asked_about(frame):
    assert _tools(frame.format(1500)) == ["ask_value"]


DIRECTIONS = [("lower", "-"), ("raise", "+"), ("increase", "+"), ("reduce", "-"), ("bump up", "+"), ("cut", "-")]


def test_each_part_of_a_sentence_keeps_its_own_direction():
    for (verb_a, sign_a), (verb_b, sign_b) in itertools.product(DIRECTIONS, DIRECTIONS):
        text = f"{verb_a} the rank and {verb_b} the steps"
        changes = _changes(text)
        assert changes["rank"][0] == sign_a and changes["steps"][0] == sign_b, (text, changes)
    assert _changes("could you double the steps and halve the learning rate") == {"steps": "x2",
                                                                                   "learning_rate": "x0.5"}
    assert _changes("increase rank to 64 but keep alpha the same") == {"rank": "64"}


QUESTIONS = ["what does {} do?", "whats {} for", "why that {}?", "is the {} too high?", "explain {} to me",
             "how does {} matter", "what {} are we using", "hmm why is the {} like that"]


@pytest.mark.parametrize("name,setting", [("rank", "rank"), ("learning rate", "learning_rate"), ("lr", "learning_rate"),
                                          ("trigger", "trigger"), ("alpha", "alpha"), ("steps", "steps")])
def test_a_question_about_a_setting_explains_it_and_sets_nothing(name, setting):
    for frame in QUESTIONS:
        text = frame.format(name)
        assert [(i.tool, i.args) for i in parse(text)] == [("explain_settings", {"setting": setting})], text


@pytest.mark.parametrize("text", ["what trigger will it use", "which trigger word does it use?",
                                  "is the trigger still zorbly style", "does the trigger have to be zorbly?",
                                  "what was the old trigger?", "should the trigger be ohwx?"])
def test_a_question_about_the_trigger_never_sets_it(text):
    assert "trigger" not in _changes(text) and _tools(text) == ["explain_settings"]


@pytest.mark.parametrize(("text", "trigger"), [
    ("use ohwx as trigger", "ohwx"), ("trigger ohwx man", "ohwx man"), ("set the trigger to zorbly style", "zorbly style"),
    ("can you set the trigger to ohwx?", "ohwx"), ("could we make the trigger word sks dog please", "sks dog"),
    ("trigger phrase = 'zorbly style'", "zorbly style"), ("make the trigger “Zorbly Style”", "Zorbly Style"),
    ("the trigger was ohwx", "ohwx"), ("i always used sks as my trigger", "sks"),
    ("the trigger should stay zorbly style", "zorbly style"), ("my trigger is zorbly style", "zorbly style")])
def test_a_trigger_asked_for_is_kept_as_written(text, trigger):
    assert _changes(text)["trigger"] == trigger


@pytest.mark.parametrize("text", ["keep the old trigger", "keep my old trigger please", "use the original trigger",
                                  "same trigger as before", "set the trigger back to the old one",
                                  "keep the trigger word as it was", "hmm no, keep the old trigger"])
def test_keeping_the_old_trigger(text):
    assert _tools(text) == ["keep_trigger"]


RETRAINS = [
    ("retrain my style LoRA with 20% more steps", {"steps": "+20%"}, "style"),
    ("same as last time but rank 64", {"rank": "64"}, None),
    ("redo the face one, lower lr", {"learning_rate": "-50%"}, "face"),
    ("redo the character one with a lower lr and twice the steps", {"learning_rate": "-50%", "steps": "x2"},
     "character"),
    ("one more run with rank 16", {"rank": "16"}, None), ("same settings but 3k steps", {"steps": "3000"}, None),
    ("try again with half the learning rate", {"learning_rate": "x0.5"}, None),
    ("do another run with more steps", {"steps": "+50%"}, None),
]


@pytest.mark.parametrize(("text", "changes", "recipe"), RETRAINS, ids=[r[0] for r in RETRAINS])
def test_retrain_requests_in_other_words(text, changes, recipe):
    [intent] = parse(text)
    assert intent.tool == "retrain_with" and intent.args["changes"] == changes
    assert intent.args.get("recipe") == recipe


CARDS = ["24gb", "a 4090", "my 3060 12 gig", "16 GB VRAM", "an rtx 3090", "24 gigs", "a 12gb card", "an a100"]


@pytest.mark.parametrize("frame", ["will it fit on {}", "i have {}", "can i train on {}?", "is {} enough",
                                   "{} ok?"])
def test_a_card_in_any_words_is_a_hardware_question_not_a_setting(frame):
    for card in CARDS:
        text = frame.format(card)
        assert _tools(text) == ["check_hardware"], text


YES = ["sure", "sure go ahead", "yep", "yeah go for it", "let's do it", "alright let's do this", "ok",
       "sounds good to me", "go on then", "yes please", "ya", "👍", "fine by me", "okey dokey"]
NO = ["nah", "no", "nope not yet", "wait", "hold on", "hang on", "not so fast", "let me think", "maybe later",
      "don't", "no thanks", "not now", "i changed my mind", "don't do it", "hmm not sure"]


@pytest.mark.parametrize("text", YES)
def test_yes_in_many_forms(text):
    assert words.answer(text) == "yes" and words.answer(text.upper()) == "yes"


@pytest.mark.parametrize("text", NO)
def test_no_in_many_forms(text):
    assert words.answer(text) == "no" and _tools(text) == ["no"]


@pytest.mark.parametrize("text", ["lol nice", "my cat just walked on the keyboard", "brb coffee",
                                  "i think it's great", "this is taking me back", "hmm"])
def test_chatter_changes_and_starts_nothing(text):
    assert not {SET, "launch_training", "retrain_with", "cancel_job"} & set(_tools(text))


def test_the_reader_normalises_numbers_without_touching_versions_or_paths():
    assert "ltx-2.3" in normalise("move it to 2.3")
    assert _tools("rank: 16 / steps: 2000") == [SET]
    assert _tools("option 3") != ["choose_recipe"]  # "option" is no typo of "motion"
    assert _tools("should i move to 2.5?") == ["explain_settings"]


FIRST_TURNS = [
    ("hey so i trained a lora on ltx 2 a while back (a claymation style) and now it looks like garbage on 2.3, "
     "what do i do", "style"),
    ("Hi, I have a character lora of myself, trained on LTX-2. Can you port it?", "character"),
    ("my ltx2 motion lora is broken after updating", "motion"),
    ("so my old LTX-2 LoRA of my girlfriend doesnt work anymore", "character"),
]


@pytest.mark.parametrize(("text", "recipe"), FIRST_TURNS, ids=[f[0][:40] for f in FIRST_TURNS])
def test_a_first_turn_story_is_heard_and_its_kind_guessed(text, recipe):
    assert [(i.kind, i.args) for i in parse(text)] == [("story", {"recipe": recipe})]


COMPLAINTS = ["i'm not happy with the result", "it looks overcooked", "it's too strong", "the likeness isn't there",
              "it didn't learn anything", "the lora does nothing", "is it overfitting?", "looks fried tbh"]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_complaint_about_the_result_asks_for_what_to_change(text):
    assert _tools(text) == ["suggest_adjustments"]


@pytest.mark.parametrize(("text", "tool"), [
    ("my clips have no captions", "caption_preview"), ("they dont have captions yet", "caption_preview"),
    ("is my last run finished", "job_status"), ("whats the status of my last run", "job_status"),
    ("how does it compare to the previous run", "compare_runs"), ("pause it", "cancel_job"),
    ("i have like 40 clips of my dog", "unknown"), ("where did the safetensors go", "how_to_use")])
def test_follow_ups_in_other_words(text, tool):
    assert _tools(text) == [tool]


@pytest.mark.parametrize(("text", "expected"), [
    ("rank 16 and what does alpha do", [("explain_settings", {"setting": "alpha"}), (SET, {"changes": {"rank": "16"}})]),
    ("set rank 16 and tell me how long it takes", [(SET, {"changes": {"rank": "16"}}), ("estimate", {})]),
    ("use the 8 bit optimiser", [(SET, {"changes": {"optimizer": "adamw8bit"}})]),
    ("quantise the base model to int8", [(SET, {"changes": {"quantize_base": "int8"}})]),
    ("what does quantisation do", [("explain_settings", {"setting": "quantize_base"})]),
    ("bs=4", [(SET, {"changes": {"batch_size": "4"}})]),
    ("should i use more steps", [("explain_settings", {"setting": "steps"})]),
    ("is it better to use rank 64?", [("explain_settings", {"setting": "rank"})]),
    ("would you set rank 64", [(SET, {"changes": {"rank": "64"}})]),
    ("train for 10 epochs", [("ask_value", {"value": "10", "unit": "epoch"})]),
    ("make it 25fps", [("ask_value", {"value": "25", "unit": "fps"})]),
])
def test_mixed_british_and_kohya_ways_of_saying_it(text, expected):
    assert [(i.tool or i.kind, i.args) for i in parse(text)] == expected


def test_epochs_are_offered_as_the_step_count_they_mean():
    from agent.brains.asking import ask_value

    state = {"dataset": {"n_files": 12}, "config": {"optim": {"batch_size": 2, "grad_accum": 1}}}
    text = ask_value({"value": "10", "unit": "epoch"}, state)
    assert "60 steps" in text and "not epochs" in text  # 10 epochs x 12 clips / 2 clips per step


@pytest.mark.parametrize(("text", "card", "gb"), [
    ("will it fit on two 4090s", "RTX 4090", 24), ("i'm on a 4090 laptop", "RTX 4090 Laptop", 16),
    ("my 4070 ti super ok?", "RTX 4070 Ti Super", 16), ("a 3060 ti, will it run", "RTX 3060 Ti", 8),
    ("my 3060 12 gig", "RTX 3060", 12), ("16 GB VRAM", "a 16 GB card", 16)])
def test_a_card_as_people_name_it_is_read_with_its_memory(text, card, gb):
    from tools.plan.gpus import gpu_from_text

    [intent] = parse(text)
    hardware = gpu_from_text(intent.args["question"])
    assert intent.tool == "check_hardware" and (hardware.name, hardware.vram_gb) == (card, gb)


TYPOS = [("triger word ohwx", "set_option"), ("retrian with more steps", "retrain_with"), ("evalute it", "evaluate"),
         ("evaulate the lora", "evaluate"), ("captoin a few clips", "caption_preview"), ("recipies", "list_recipes"),
         ("bacth size 2", "set_option"), ("chekpoint every 500", "set_option"),
         ("leraning rate 0.0002", "set_option")]


@pytest.mark.parametrize(("text", "tool"), TYPOS, ids=[t[0] for t in TYPOS])
def test_a_command_word_one_slip_wrong_is_still_read(text, tool):
    assert _tools(text) == [tool]


@pytest.mark.parametrize("text", ["retain the style please", "my captain is a cat", "evacuate the building",
                                  "a revolution in video", "it was leaning left", "five stars", "strat training",
                                  "lauch it"])
def test_real_words_near_a_command_and_unclear_launches_are_not_acted_on(text):
    assert not {"retrain_with", "caption_preview", "evaluate", "launch_training", SET} & set(_tools(text))


def test_the_trigger_keeps_its_case_when_the_word_trigger_is_misspelt():
    assert _changes("set the Triger to Zorbly Style") == {"trigger": "Zorbly Style"}


@pytest.mark.parametrize(("text", "last", "expected"), [
    ("hmm rank 4 seems low. sixteen?", None, [("explain_settings", {"setting": "rank"}),
                                                (SET, {"changes": {"rank": "16"}})]),
    ("maybe 24?", "rank", [(SET, {"changes": {"rank": "24"}})]),
    ("rank sixteen, steps two thousand.", None, [(SET, {"changes": {"rank": "16", "steps": "2000"}})]),
    ("is 16 too high?", None, [("ask_value", {"value": "16"})]),  # names no setting: asked, not changed
])
def test_a_value_offered_as_a_question_after_naming_its_setting(text, last, expected):
    assert [(i.tool or i.kind, i.args) for i in parse(text, last)] == expected


def test_paths_as_people_paste_them(tmp_path):
    folder = tmp_path / "Videos" / "zorbly clips"
    folder.mkdir(parents=True)
    cases = [
        ("file:///home/me/loras/zorbly.safetensors", [("inspect_lora", {"path": "/home/me/loras/zorbly.safetensors"})]),
        ("the lora is /home/me/My LoRAs/zorbly v2.safetensors",
         [("inspect_lora", {"path": "/home/me/My LoRAs/zorbly v2.safetensors"})]),
        ("the clips are in /data/clips and the lora /data/x.safetensors",
         [("import_dataset", {"source": "/data/clips"}), ("inspect_lora", {"path": "/data/x.safetensors"})]),
        (f"clips are at {folder}, rank 16", [("import_dataset", {"source": str(folder)}),
                                             (SET, {"changes": {"rank": "16"}})]),
    ]
    for text, expected in cases:
        assert [(i.tool, i.args) for i in parse(text)] == expected, text


@pytest.mark.parametrize(("text", "expected"), [
    ("whats the difference between rank and alpha", ["explain_settings", "explain_settings"]),
    ("what's the difference between the style and character recipe", ["list_recipes"]),
    ("what does the character recipe do", ["list_recipes"]),
    ("can we use the motion recipe?", ["choose_recipe"]),
])
def test_a_question_about_recipes_or_two_settings_picks_nothing(text, expected):
    assert _tools(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("not style, it's a person", [("choose_recipe", {"name": "character"})]),
    ("it's not a style, it's a character", [("choose_recipe", {"name": "character"})]),
    ("no not the style one", [("no", {})]),
    ("nah, motion", [("choose_recipe", {"name": "motion"})]),
    ("no it's a character", [("choose_recipe", {"name": "character"})]),
])
def test_a_refused_recipe_is_never_the_one_chosen(text, expected):
    assert [(i.tool or i.kind, i.args) for i in parse(text)] == expected


def test_a_refused_launch_leaves_the_rest_of_the_message_standing():
    assert [(i.tool or i.kind, i.args) for i in parse("rank sixteen pls and just ten steps. dont start yet, "
                                                      "whats the trigger?")] == [
        ("explain_settings", {"setting": "trigger"}), (SET, {"changes": {"rank": "16", "steps": "10"}})]
    assert _tools("dont start, what does rank do?") == ["explain_settings"]


def test_a_job_id_survives_the_reader_whatever_its_random_part():
    import random

    rng = random.Random(13)
    ids = [f"train-20261130-155012-{rng.getrandbits(24):06x}" for _ in range(3000)]
    ids += ["train-20261130-155012-153bbb", "train-20261130-155012-aaaa33", "train-20261130-155012-1e5abc"]
    for job_id in ids:
        [intent] = parse(f"whats the status of job {job_id}")
        assert (intent.tool, intent.args) == ("job_status", {"job_id": job_id}), job_id


CHATTER_WITH_NUMBERS = ["i've been at this for 3 hours lol", "it took about 3 hours last time", "it's like 2am here",
                        "i have 2 kids to feed lol", "maybe 20 minutes?", "that's about 10 times faster",
                        "the last one had like 40 clips", "my old lora took around 5 hours"]


@pytest.mark.parametrize("text", CHATTER_WITH_NUMBERS)
def test_a_number_counting_something_else_is_not_the_setting_talked_about(text):
    assert not {SET, "retrain_with", "launch_training"} & set(_tools(text, "steps")), text


def test_a_number_counting_something_else_is_not_the_setting_named_before_it():
    assert _changes("rank 16 took 3 hours last time")["rank"] == "16"
    assert _changes("steps for 20 clips should be 2000") == {"steps": "2000"}


@pytest.mark.parametrize("text", ["say 3000", "how about 3000", "3000 then", "maybe 3000?", "3000 would be better",
                                  "use 3000 instead"])
def test_a_bare_number_after_the_setting_was_talked_about_is_its_value(text):
    assert _changes(text, "steps") == {"steps": "3000"}


@pytest.mark.parametrize(("text", "expected"), [
    ("is rank 32 ok or should i go lower", [("explain_settings", {"setting": "rank"})]),
    ("i feel like 2000 steps is too many", [("explain_settings", {"setting": "steps"})]),
    ("is 2000 steps too many? lets do 1000", [("explain_settings", {"setting": "steps"}),
                                              (SET, {"changes": {"steps": "1000"}})]),
    ("rank 64 is overkill right?", [("explain_settings", {"setting": "rank"})]),
    ("go lower on the rank", [(SET, {"changes": {"rank": "-50%"}})]),
])
def test_doubts_about_a_value_are_questions_not_changes_or_launches(text, expected):
    assert [(i.tool or i.kind, i.args) for i in parse(text)] == expected


@pytest.mark.parametrize("text", ["where do i start", "how do i start training", "when will it start",
                                  "what happens when it starts?", "how do I begin"])
def test_a_question_about_starting_is_not_a_launch(text):
    assert "launch_training" not in _tools(text)


def test_the_reader_never_fails_on_odd_input():
    """Any mix of words, numbers, paths, quotes and odd characters is read or not, never an exception (a turn
    that raised would lose the user's message)."""
    import random

    parts = ["rank", "16", "steps", "don't", "start", "the", "second", "one", "~~/x.safetensors", "~nobody/a b.mp4",
             "/" + "a" * 300 + ".safetensors", "file://", "C:\\x", "(", ")", '"', "'", "`", "?", "!", ",", ".", "0,",
             "2x10^-4", "e-4", "twenty", "thousand", "a", "couple", "of", "not", "🚀", "ß", "\u2019", "\x00", "\n",
             "#2", "3rd", "ltx", "2.5", "trigger", "triger", "retrian", "4090s", "24gb", "keep", "old", "and", "%"]
    rng = random.Random(5)
    for _ in range(1500):
        text = " ".join(rng.choice(parts) for _ in range(rng.randint(1, 12)))
        text = text.replace(" ", "") if rng.random() < 0.25 else text
        for last in (None, "rank"):
            parse(text, last)
            words.answer(text)


@pytest.mark.parametrize(("text", "tool"), [
    ("can i get the checkpoint from step 750", "export_checkpoint"), ("save the best checkpoint as its own file",
                                                                       "export_checkpoint"),
    ("which checkpoint is best", "evaluate"), ("is the best one the last one?", "evaluate"),
    ("dont export anything", "no")])
def test_checkpoints_in_other_words(text, tool):
    assert _tools(text) == [tool]


@pytest.mark.parametrize(("text", "expected"), [
    ("hmm what does lr do, lower it a bit", [("explain_settings", {"setting": "learning_rate"}),
                                              (SET, {"changes": {"learning_rate": "-20%"}})]),
    ("can you explain alpha and set it to 16", [("explain_settings", {"setting": "alpha"}),
                                                (SET, {"changes": {"alpha": "16"}})]),
    ("what is warmup? set it to 100 anyway", [("explain_settings", {"setting": "warmup_steps"}),
                                              (SET, {"changes": {"warmup_steps": "100"}})]),
    ("rank? 16", [("explain_settings", {"setting": "rank"}), (SET, {"changes": {"rank": "16"}})]),
    ("fire it up", [("launch_training", {})]),
])
def test_a_question_then_a_change_in_other_words(text, expected):
    assert [(i.tool or i.kind, i.args) for i in parse(text, "rank")] == expected


@pytest.mark.parametrize("text", ["ok?", "start?", "yes?", "go for it?", "sure??"])
def test_a_yes_word_asked_as_a_question_approves_nothing(text):
    assert words.answer(text) is None
