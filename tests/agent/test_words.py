"""Yes and no: the words people answer with approve or decline, and anything longer is a new request."""

import pytest

from agent.words import answer

YES = ["yes", "y", "Sure", "sure!", "yep", "Yeah.", "ok", "OK start", "okay go", "go for it", "Go for it!",
       "sounds good", "let's do it", "yes please", "ok, sure", "sure thing", "do it", "go ahead", "approve",
       "👍", "absolutely", "fine", "alright then", "ok thanks", "yup, go ahead", "lgtm", "ship it"]
NO = ["no", "n", "nope", "nah", "No thanks", "not now", "cancel", "don't", "wait", "hold on", "never mind",
      "reject", "not yet", "no, not yet"]
OTHER = ["yes but rank 16 first", "sure, and make it 49 frames", "ok what does rank do?", "start with rank 8",
         "no idea", "maybe", "what?", "yes no", "", "the clips are in /data", "hello"]


@pytest.mark.parametrize("text", YES)
def test_approving_words_say_yes(text):
    assert answer(text) == "yes"


@pytest.mark.parametrize("text", NO)
def test_declining_words_say_no(text):
    assert answer(text) == "no"


@pytest.mark.parametrize("text", OTHER)
def test_a_sentence_with_more_in_it_is_not_an_answer(text):
    assert answer(text) is None
