"""The plan's sound rules: whether the clips' sound trains with the picture, why, and what to warn about.

- An old LoRA whose audio-branch layers were trained (the inspector's ``audio_trained``: most audio B norms are
  non-zero) learned a voice or a sound: the plan turns ``audio`` on, saying so, when the dataset has clips with
  sound. Without any such clip it stays off and the plan warns, before anything runs, that the new LoRA would
  come back mute.
- Training the sound adapts all six attention families, so ``video_only`` follows ``audio`` unless the user set it.
- A sound recipe (``audio = required``) without a single clip with sound is not ready to run.
"""

from typing import Any

from tools.recipes import Recipe


def _sound_clips(facts) -> tuple[int, int]:
    """(videos with a sound track, videos) among the dataset's training items; (0, 0) when the dataset's facts do
    not say (no files listed, or a report without has_audio): nothing is then claimed about its sound."""
    videos = [f for f in facts.files if f.kind == "video" and f.role != "reference"]
    if any(f.has_audio is None for f in videos):
        return 0, 0
    return sum(1 for f in videos if f.has_audio), len(videos)


def from_old_lora(v: Any, recipe: Recipe, old, facts) -> None:
    if not old.audio_trained or recipe.settings.strategy.value == "ic-lora" or v.value("audio") != "off":
        return
    with_sound, videos = _sound_clips(facts)
    if videos and not with_sound:
        return  # nothing to learn the sound from: sound_warnings says so
    v.set("audio", "on", "old_lora",
          "Your old LoRA's audio layers were trained (their B weights are non-zero): it learned a voice or a "
          "sound. Training the clips' sound with the picture keeps it; without it the new LoRA would come back "
          "mute. Clips without sound still train the picture and are listed.")


def derived(v: Any) -> None:
    audio = v.s.get("audio")
    if audio is None or audio.value == "off" or "video_only" not in v.s or v.s["video_only"].source == "user":
        return
    if v.value("video_only"):
        v.set("video_only", False, audio.source, "The sound trains, so the LoRA adapts all six attention families "
              "(the audio branch's own attention and both audio<->video cross-attentions too), as Lightricks' "
              "trainer does for audio and video.")


def sound_warnings(v: Any, facts, old) -> tuple[list[str], bool]:
    """(warnings, ready): what the user must hear about sound before the run starts."""
    audio = v.value("audio") if "audio" in v.s else "off"
    with_sound, videos = _sound_clips(facts)
    out, ready = [], True
    if not videos:
        return out, ready
    if old is not None and old.audio_trained and audio == "off":
        why, fix = (("none of the clips has a sound track", "Add the clips with their original sound (re-export "
                     "them keeping the audio) and set audio = on.") if not with_sound else
                    (f"the sound is off although {with_sound} of {videos} clips have it", "Set audio = on to keep it."))
        out.append(f"Your old LoRA learned a voice or a sound (its audio layers were trained), but {why}: the new "
                   f"LoRA will be video-only and come back mute. {fix}")
    elif audio != "off" and not with_sound:
        out.append(f"audio = {audio}, but none of the {videos} clips has a sound track: nothing can teach the "
                   "sound, so the LoRA would be video-only. Add the clips with their sound, or set audio = off.")
        ready = audio != "required"
    elif audio != "off" and with_sound < videos:
        out.append(f"{videos - with_sound} of {videos} clips have no sound track: "
                   + ("they will be refused (this recipe trains sound)." if audio == "required" else
                      "they train the picture only, without sound."))
    return out, ready
