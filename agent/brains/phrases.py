"""What people say, as data: the phrase families the guided brain recognises, and the words of a setting change.

Each family is a list of cue phrases written as people type them (lower case, no punctuation). A message belongs
to the family whose cue is the longest match (more words = more specific), so adding a way of saying something
is adding a cue here, not writing a regex or placing it in an order. Settings, their names and units come from
``tools.plan.glossary``; recipes from the keywords in their TOML files; yes / no from ``agent.words``.
"""

# family -> cues. A family is a tool the guided brain calls, or a conversational move it answers itself.
FAMILIES: dict[str, tuple[str, ...]] = {
    "help": ("help", "where do i start", "how do i start", "how do i begin", "where do i begin", "how to start",
             "how do i get started", "getting started", "how does it start", "what can you do", "what do you do", "what can i do", "commands", "how does this work",
             "how does it work", "what are my options", "what are you", "who are you", "instructions"),
    "next": ("what now", "now what", "what next", "whats next", "what's next", "next step", "next steps",
             "what do i do now", "what should i do now", "where are we", "where were we", "what's left",
             "whats left", "i'm lost", "im lost", "what do you need", "what do you need from me", "confused",
             "i'm confused", "im confused", "what happens next", "what happens now", "next", "what was i doing", "where was i", "remind me", "what's the status of "
             "the migration", "what did we do", "i'm not sure", "im not sure", "not sure", "idk", "i don't know",
             "i dont know", "dunno", "no idea", "no clue", "what do you suggest", "what do you recommend"),
    "greeting": ("hi", "hello", "hey", "hiya", "howdy", "yo", "good morning", "good afternoon", "good evening",
                 "greetings", "hi there", "hey there", "hello there", "morning", "what's up", "whats up", "sup",
                 "wassup", "hi again", "hello again"),
    "restart": ("start over", "start again from the beginning", "new conversation", "reset", "reset everything",
                "from the beginning", "begin again", "start a new one", "clear everything", "delete everything"),
    "why_retrain": ("why do i need to retrain", "why do i have to retrain", "why retrain", "why train again",
                    "can't i just use", "cant i just use", "just use my old", "just use the old", "use the old lora on",
                    "use my old lora on", "what's different", "whats different", "what changed", "what is different",
                    "still work", "my old prompts", "will my prompts", "why doesn't it work", "why doesnt it work",
                    "why does it look wrong", "why is it broken"),
    "how_it_runs": ("close the browser", "close the tab", "close the page", "close my laptop", "run locally",
                    "runs locally", "in the cloud", "on my machine", "upload my", "is it private", "privacy",
                    "cost money", "does it cost", "is it free", "need internet", "offline"),
    "keep_trigger": ("keep the old trigger", "keep the trigger", "keep my trigger", "keep my old trigger",
                     "the old trigger", "my old trigger", "original trigger", "same trigger", "previous trigger",
                     "trigger from my old lora", "trigger from the old lora", "trigger back to the old",
                     "keep the trigger word", "keep the trigger phrase", "trigger as it was", "trigger as before",
                     "old trigger word", "old trigger phrase", "the trigger i had", "the trigger it had",
                     "trigger it had before", "keep using the trigger", "keep the same trigger"),
    "undo": ("undo", "undo that", "revert", "revert that", "put it back", "change it back", "set it back",
             "go back", "as it was", "like before", "the old value", "cancel that change", "never mind that change"),
    "thanks": ("thanks", "thank you", "cheers", "ty", "thx", "much appreciated", "awesome thanks", "great thanks",
               "bye", "goodbye", "see you", "see ya", "that's all", "thats all", "done for now", "good night"),
    "skip": ("skip", "skip it", "don't have the old", "dont have the old", "no longer have", "lost it",
             "deleted it", "don't have it anymore", "dont have it anymore", "i don't have it", "skip that", "skip this", "don't have it", "dont have it", "do not have it",
             "no old lora", "don't have the old lora", "dont have the old lora", "don't have an old lora",
             "i don't have one", "i dont have one", "start fresh", "start from scratch", "from scratch",
             "lost the file", "lost the old", "without the old", "don't have the file", "dont have the file",
             "brand new lora", "new lora from scratch", "no old file"),
    "story": ("broke", "broken", "it broke", "stopped working", "doesn't work", "doesnt work", "does not work",
              "not working", "no longer works", "won't load", "wont load", "doesn't load", "looks wrong",
              "after the update", "since the update", "updated to", "port my", "migrate my", "move my",
              "convert my", "upgrade my", "bring my", "my old lora", "old lora", "my lora from ltx-2",
              "trained on ltx-2", "made for ltx-2", "on the new model", "to the new model", "to 2.3", "on 2.3", "ltx-2", "on ltx-2.3", "to ltx-2.3", "for ltx-2.3", "looks like garbage", "looks bad",
              "looks terrible", "a while back"),
    "migrate_library": ("all the loras", "all my loras", "all of my loras", "every lora", "each lora",
                        "whole folder", "whole library", "my library", "the library", "all the files in",
                        "migrate all", "port all", "convert all", "retrain all", "migrate the folder",
                        "migrate this folder", "loras in this folder", "loras in the folder"),
    "job_status": ("status", "progress", "how is it going", "how's it going", "hows it going", "how is training",
                   "how's training", "how is the training", "how's the training going", "how is the run",
                   "is it done", "is it finished", "is it ready", "done yet", "finished yet", "ready yet",
                   "how far", "how far along", "what step", "which step", "still running", "still training",
                   "eta", "time left", "how much longer", "how long left", "how long until it", "is it running",
                   "is training running", "any news", "update me", "loss", "going on", "with the job",
                   "what's happening", "whats happening", "the job", "how's it looking", "how is it looking",
                   "is it still going", "how's the run", "run finished", "run done", "training finished", "training done",
                   "job finished", "job done", "finished training", "done training"),
    "estimate": ("estimate", "how long will", "how long would", "how long does", "how long is it going to",
                 "how long", "how much time", "how many hours", "how many minutes", "how much disk",
                 "how much space", "disk space", "what will it cost", "what does it cost", "how expensive",
                 "cost", "so slow", "taking so long", "take so long", "why is it slow", "how fast",
                 "how quick", "how quickly", "speed", "when will it be done", "when will it finish"),
    "cancel_job": ("cancel", "abort", "kill", "stop", "stop it", "stop the job", "stop training",
                   "stop the training", "stop the run", "halt", "cancel the job", "cancel training", "pause", "pause it", "pause training", "pause the job"),
    "evaluate": ("evaluate", "evaluation", "eval", "how did it turn out", "turn out", "turned out",
                 "how did it go", "how did it do", "how good", "how good is it", "is it any good", "any good",
                 "did it work", "test it", "test the lora", "test the new lora", "judge", "score it",
                 "check the result", "check the results", "results", "the result", "is it good", "was it good",
                 "rate it", "how does it look", "did it learn", "is it better", "verdict", "grade it",
                 "than my old lora", "than the old lora", "than my old one", "than the old one", "compared to the old",
                 "old vs new", "vs the old", "to my old lora", "with my old lora", "to the old lora",
                 "with the old lora", "compare it to my old", "compare it with my old", "versus the old", "against the old one", "against my old lora", "which checkpoint", "which checkpoint is best", "is the best one",
                 "best checkpoint?"),
    "compare_runs": ("compare", "comparison", "compared", "versus", "vs", "than the first", "than the last",
                     "than before", "than last time", "than the previous", "than the other", "than my last run",
                     "than the first run", "difference between the runs", "compare the runs", "compare runs",
                     "which run is better", "which one is better", "better than", "worse than", "was best",
                     "which run", "best run", "which one was best", "the previous one"),
    "how_to_use": ("where is my file", "where is the file", "where's the file", "wheres the file", "where is it",
                   "where's my lora", "where is my lora", "where is the lora", "where's the lora",
                   "where did it go", "where did it save", "where was it saved", "where can i find",
                   "find the file", "find my lora", "how do i use", "how to use", "how can i use", "use it in",
                   "comfyui", "comfy", "comfy ui", "load it", "download", "get the file", "path to the lora",
                   "the lora file", "which node", "what strength", "lora strength", "where is", "where's",
                   "wheres", "where do i find", "where can i get", "find the lora", "where's it saved",
                   "where did you put", "the output file", "the safetensors", "send me the file", "the file",
                   "what prompt", "which prompt", "how to prompt", "how do i prompt", "use the trigger"),
    "check_hardware": ("fit on", "fits on", "fit in", "run on my", "train on my", "train this on",
                       "enough vram", "enough memory", "vram", "gpu", "graphics card", "my card", "gb card",
                       "out of memory", "oom", "will it run", "will it fit", "does it fit", "can my",
                       "my pc", "my computer", "my machine", "my laptop", "my mac", "hardware", "how much memory", "how much vram", "less memory", "lower memory",
                       "low vram", "reduce memory", "save memory", "memory", "too much memory"),
    "export_checkpoint": ("export", "export it", "save checkpoint", "save the checkpoint", "save that checkpoint",
                          "keep that checkpoint", "export the best", "save the best", "use checkpoint",
                          "use the checkpoint", "checkpoint instead", "the best one", "give me the best",
                          "the earlier checkpoint", "the best checkpoint", "get the checkpoint", "checkpoint from step",
                          "the checkpoint at step", "checkpoint from"),
    "suggest_adjustments": ("suggest", "suggestion", "suggestions", "what should i change", "what should i try",
                            "what should i do differently", "what would you change", "what would you do",
                            "advice", "any tips", "tips", "improve", "improve it", "make it better",
                            "better next time", "next run", "how can i improve", "how to improve", "why is it weak",
                            "why weak", "why is it bad", "why did it fail", "make it stronger", "stronger",
                            "why over-fit", "why is it over-fit", "what went wrong", "overcooked", "overbaked", "fried", "burnt", "burned",
                            "too strong", "too weak", "didn't learn", "did not learn", "learned nothing",
                            "does nothing", "doesn't do anything", "no effect", "overfitting", "over-fitting",
                            "overfit", "over-fit", "underfitting", "artifacts", "artefacts", "likeness isn't there",
                            "doesn't look like", "not happy with"),
    "list_my_loras": ("my loras", "my lora files", "which loras", "what loras", "list loras", "show loras",
                      "loras do i have", "loras have i", "my runs", "previous runs", "past runs", "my models",
                      "what have i trained", "what did i train", "trained so far", "my trained", "list my",
                      "show my", "my jobs", "all my", "loras", "show me my", "my finished"),
    "list_recipes": ("recipes", "which recipe", "which recipes", "what recipe", "what recipes", "what kinds",
                     "kinds of lora", "types of lora", "what can i train", "recipe options", "list recipes",
                     "show recipes", "recipes are there", "recipes do you have", "kind of loras", "kinds of loras",
                     "kind of lora", "types of loras", "loras can you train", "can you train", "what can you train"),
    "caption_all": ("caption all", "caption every", "caption the rest", "caption the whole", "caption everything",
                    "caption them all", "caption all of them", "caption the entire"),
    "caption_preview": ("caption", "captions", "preview captions", "caption a preview", "caption a few",
                        "caption some", "show captions", "no captions", "have no captions", "without captions",
                        "don't have captions", "dont have captions", "not captioned", "uncaptioned", "need captions"),
    "check_dataset": ("check the dataset", "check my dataset", "check the clips", "check my clips",
                      "check the data", "check my data", "dataset report", "are my clips ok", "are the clips ok",
                      "clips ok", "is my dataset ok", "is the dataset ok", "check dataset", "big enough",
                      "enough clips", "enough videos", "enough data", "how many clips", "enough images",
                      "already have captions", "have captions", "already captioned"),
    "explain_plan": ("explain the plan", "show the plan", "show me the plan", "the plan", "review", "plan",
                     "current settings", "what are the settings", "show settings", "show me the settings",
                     "settings", "explain everything", "explain", "why these", "why those", "walk me through", "what are we training with", "what settings", "what are we using",
                     "current plan", "the settings", "what's the plan", "whats the plan", "what is the plan",
                     "remind me of the settings", "summary", "summarise", "summarize", "overview"),
    "launch_training": ("start", "start it", "start training", "start the training", "launch", "launch it",
                        "lets go", "let's go", "begin", "train it", "kick it off", "kick off", "run it",
                        "fire it up", "fire away", "ok start", "go ahead and train", "start the run", "train now", "start now",
                        "lets train", "let's train", "start the job", "begin training", "go"),
    "retrain_with": ("retrain", "re-train", "retrain with", "retrain it", "retrain using", "with suggestion",
                     "with the suggestion", "suggestion number", "train again", "train it again", "same again", "again but",
                     "again with", "another run", "rerun", "re-run", "run again", "run it again",
                     "try suggestion", "apply suggestion", "use suggestion", "go with suggestion",
                     "try the suggestion", "try the first suggestion", "try the second suggestion",
                     "one more run", "do it again", "new run", "the first suggestion", "first suggestion",
                     "second suggestion", "third suggestion", "that suggestion", "the suggestion", "suggestion one",
                     "suggestion two", "suggestion three", "what you suggested", "do what you suggested",
                     "as you suggested", "your suggestion", "make a new one", "train a new one", "a new version",
                     "new version",
                     "same as last time", "same as before", "same settings", "same as the last run",
                     "same as the last one", "same but", "redo", "redo it", "redo the", "one more time",
                     "another go", "another try", "have another go", "try again", "again with", "like last time but",
                     "from the last run", "based on the last run", "same again with"),
}

# Families that start or stop work: a negation before their cue ("don't start yet") means nothing runs.
ACTIONS = ("launch_training", "retrain_with", "cancel_job", "caption_all", "caption_preview", "export_checkpoint",
           "migrate_library")
NEGATORS = ("don't", "dont", "not", "never", "no", "won't", "wont", "shouldn't", "nothing")
# Families that are questions or light look-ups: they may ride along with a setting change in one message.
LIGHT = ("estimate", "check_hardware")
# Conversational moves the brain answers itself (everything else in FAMILIES is a tool of agent.tools).
TALK = ("help", "next", "greeting", "thanks", "skip", "story", "restart", "undo", "why_retrain", "how_it_runs",
        "keep_trigger")

# A clause with one of these asks for a change ("can we use 16 instead", "how about 49 frames").
CHANGE_CUES = ("set", "use", "make", "change", "try", "switch", "go with", "lower", "raise", "increase",
               "decrease", "reduce", "bump", "drop", "cut", "put", "back to", "instead", "let's", "lets", "can we",
               "could we", "can you", "could you", "can u", "could u", "would you", "would u", "pls", "plz", "please", "want", "i'd like", "id like", "how about",
               "what about", "double", "halve", "half", "triple", "more", "fewer", "less", "higher", "up",
               "down", "go for", "give it", "turn", "enable", "disable", "bring", "move", "needs",
               "should be", "to", "with", "at")
# A number with no setting named beside it belongs to the one talked about only after one of these.
BARE_VALUE_CUES = ("use", "make it", "set it", "change it", "try", "go with", "back to", "instead", "how about",
                   "what about", "to", "go for", "let's do", "lets do", "let's try", "prefer", "rather",
                   "put it", "make that", "set that", "change that", "please", "instead of", "like", "say",
                   "maybe", "around", "about", "can we", "could we", "let's", "lets", "go to", "make them",
                   "actually", "rather", "no wait", "i meant", "i mean", "correction", "sorry", "then", "better",
                   "is fine", "works")
# Direction words that alone ("fire it up") are not a change of the setting last talked about.
NOT_BARE = ("up", "down", "bump", "drop", "cut", "raise", "reduce", "increase", "decrease", "more", "less",
            "higher", "lower", "fewer")
# Words that make a statement a change ("20% more steps") but do not turn a question into a request
# ("do I need more steps?" asks; "can we use more steps?" asks for them).
WEAK_CUES = ("more", "fewer", "less", "higher", "up", "down", "to", "with", "at", "needs", "should be", "half")
# A clause that only talks about a value ("rank 1 seems really low") is about it, not a request.
QUESTION_WORDS = ("why", "what", "how", "which", "is", "are", "does", "do", "will", "would", "should", "isn't",
                  "whats", "what's", "hows", "how's", "who", "when", "where", "wtf", "explain", "tell", "can", "could")
EVALUATIVE = ("seems", "seem", "looks", "feels", "sounds", "appears", "too low", "too high", "too small",
              "too big", "really low", "really high", "quite low", "quite high", "so low", "so high", "too many",
              "too few", "too much", "too little", "too long", "too short", "overkill", "excessive", "feel like")

# Relative changes spoken without a number -> the overrides syntax of tools.plan.overrides.
RELATIVE: dict[str, str] = {
    "half again": "x1.5", "half again as many": "x1.5", "double": "x2", "twice": "x2", "triple": "x3", "halve": "x0.5", "half": "x0.5", "a third more": "+33%",
    "a bit more": "+20%", "a little more": "+20%", "slightly more": "+20%", "a touch more": "+20%",
    "bit more": "+20%", "a bit higher": "+20%", "a little higher": "+20%", "slightly higher": "+20%",
    "a bit less": "-20%", "a little less": "-20%", "slightly less": "-20%", "a bit fewer": "-20%",
    "a bit lower": "-20%", "a little lower": "-20%", "slightly lower": "-20%", "a bit down": "-20%",
    "a lot more": "x2", "much more": "x2", "way more": "x2", "a lot less": "x0.5", "much less": "x0.5",
    "a lot fewer": "x0.5", "much lower": "x0.5", "much higher": "x2",
    "more": "+50%", "higher": "+50%", "increase": "+50%", "raise": "+50%", "bump": "+50%", "up": "+50%",
    "fewer": "-50%", "less": "-50%", "lower": "-50%", "reduce": "-50%", "decrease": "-50%", "cut": "-50%",
    "down": "-50%", "drop": "-50%",
}
SOFT = ("a bit", "a little", "slightly", "a touch", "bit", "somewhat", "a tad", "little")
UP = ("more", "extra", "higher", "increase", "raise", "bump", "up", "add", "additional", "longer", "bigger")
DOWN = ("fewer", "less", "lower", "reduce", "decrease", "cut", "down", "drop", "shorter", "smaller", "minus")

# Spoken names for a setting's value: "8-bit adam" is optimizer adamw8bit.
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "8bit adam": ("optimizer", "adamw8bit"), "8bit adamw": ("optimizer", "adamw8bit"),
    "adam 8bit": ("optimizer", "adamw8bit"), "adamw8bit": ("optimizer", "adamw8bit"),
    "8bit optimizer": ("optimizer", "adamw8bit"), "nf4": ("quantize_base", "nf4"),
    "4bit base": ("quantize_base", "nf4"), "4bit quantization": ("quantize_base", "nf4"),
    "8bit quantization": ("quantize_base", "int8"), "float8": ("quantize_base", "float8"),
    "fp8": ("quantize_base", "float8"), "block swap": ("offload", "blocks"), "block swapping": ("offload", "blocks"),
    "offload the blocks": ("offload", "blocks"), "cpu offload": ("offload", "blocks"),
    "cosine": ("schedule", "cosine"), "linear": ("schedule", "linear"), "constant": ("schedule", "constant"),
    "int8": ("quantize_base", "int8"), "8bit base": ("quantize_base", "int8"),
    "no quantization": ("quantize_base", "none"), "no quantisation": ("quantize_base", "none"),
    "train longer": ("steps", "+50%"), "train it longer": ("steps", "+50%"), "run it longer": ("steps", "+50%"),
    "train it for longer": ("steps", "+50%"), "train it a bit longer": ("steps", "+20%"), "more training": ("steps", "+50%"), "train for longer": ("steps", "+50%"), "train for a bit longer": ("steps", "+20%"), "train a bit longer": ("steps", "+20%"), "train shorter": ("steps", "-50%"),
    "train a bit shorter": ("steps", "-20%"), "longer training": ("steps", "+50%"),
    "shorter training": ("steps", "-50%"), "ic lora": ("strategy", "ic-lora"), "text to video": ("strategy", "text-to-video"),
}
# Words in a setting's place that are not settings here ("reference clip", "base model" of an old file).
NOT_SETTINGS = frozenset({"r", "base", "token", "mode", "reference", "validation", "prompts", "checkpoints",
                          "bucket", "buckets", "i2v", "precision", "accumulation", "optim", "dim",
                          "int8", "quantize", "checkpointing"})
# Everyday names for two settings the glossary keeps as one (buckets): resolution and frames.
EXTRA_NAMES: dict[str, str] = {
    "resolution": "resolution", "res": "resolution", "size": "resolution", "dimensions": "resolution",
    "frame size": "resolution", "frames": "frames", "frame count": "frames", "number of frames": "frames",
    "num frames": "frames", "clip length": "frames", "length": "frames", "learning rate": "learning_rate",
    "trigger": "trigger", "trigger word": "trigger", "trigger phrase": "trigger", "model": "model",
    "base model": "model", "iterations": "steps", "batch size": "batch_size",
}
UNITS: dict[str, str] = {"frames": "frames", "frame": "frames", "steps": "steps", "step": "steps",
                         "iterations": "steps"}

# Command words a one-slip typo of which is put right before reading (agent.brains.typos), and the real words
# one slip away from them that must be left alone.
TYPO_TARGETS = ("trigger", "retrain", "evaluate", "caption", "captions", "recipe", "recipes", "resolution",
                "checkpoint", "checkpoints", "learning", "schedule", "warmup", "estimate", "explain", "batch",
                "frames", "steps", "rank", "alpha", "status")
NOT_TYPOS = frozenset({"retain", "restrain", "captain", "captains", "evacuate", "revolution", "leaning", "learned",
                       "earning", "stamps", "steep", "stems", "stepson", "ranks", "ranch", "frame", "flames",
                       "statue", "states", "stats", "static", "status", "estimates", "estimated", "explains",
                       "explained", "schedules", "scheduled", "recipient", "triggers", "triggered", "batches",
                       "alphas", "warmer", "checkpointing", "captioned", "captioning", "resolutions", "stars"})
