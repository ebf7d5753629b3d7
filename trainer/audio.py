"""A clip's sound -> the audio VAE's latents, as LTX-2.x's joint audio-video training consumes them.

The steps follow Lightricks' ltx-trainer preprocessing and diffusers' ``LTX2Pipeline``:

1. PyAV decodes the audio stream for exactly the seconds the training frames cover (bucket frames / fps, from
   the first video frame's time); libswresample (PyAV's ``AudioResampler``) resamples it to the audio VAE's rate
   and ``to_stereo`` mixes it to the two channels the VAE takes, with ltx-trainer's weights (libswresample's
   own 5.1 downmix is not normalised and clips). A track shorter than the frames is padded with silence at the
   end, a longer one is cut.
2. A log-mel spectrogram with the audio VAE's parameters: Hann window of ``N_FFT`` = 1024 samples, hop
   ``mel_hop_length`` (160), centred frames with reflect padding, magnitude (power 1), ``mel_bins`` Slaney-scale
   filters with Slaney norm from 0 Hz to Nyquist, ``log(max(mel, 1e-5))``. That is ltx-core's ``AudioProcessor``
   (a torchaudio ``MelSpectrogram``); here it is transformers' ``audio_utils.spectrogram`` and
   ``mel_filter_bank``, which compute the same thing in numpy. torchaudio is not used because no torchaudio
   wheel matches the pinned torch 2.13 (the newest is 2.11, which would pull its own torch).
3. ``AutoencoderKLLTX2Audio.encode`` (the posterior mean, as ltx-core's encoder returns), then the pipeline's
   ``_pack_audio_latents`` ((1, C, L, M) -> (1, L, C*M): every mel bin of a latent frame in one token) and
   ``_normalize_audio_latents`` (the VAE's per-feature latents_mean / latents_std). The real VAE turns 100 mel
   frames a second into 25 latent frames of 8 channels x 16 bins = 128 features.

Sound that is absent, undecodable or digital silence is reported per file by ``AudioTrack.problem`` / a
``LoraportError``; the dataset preparation decides whether that clip trains video-only or is refused.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import LoraportError
from trainer.cache import cache_key
from trainer.config import Bucket, TrainConfig
from trainer.listing import MediaError

N_FFT = 1024  # ltx-core's audio VAE config: stft filter_length (diffusers' AutoencoderKLLTX2Audio does not store it)
MEL_FLOOR = 1e-5  # log(max(mel, 1e-5)), as ltx-core's AudioProcessor
SILENCE_PEAK = 1e-4  # -80 dBFS: below this everywhere, a track is digital silence and teaches no sound
MIN_SECONDS = 0.05  # less sound than this is not a track worth training on


@dataclass
class AudioTrack:
    """Decoded sound of one clip, stereo at the audio VAE's rate."""

    waveform: np.ndarray  # (2, N) float32 in [-1, 1]
    sample_rate: int
    source_rate: int
    source_channels: int
    covered_s: float  # seconds of real sound inside the requested window (the rest is padding)
    wanted_s: float

    @property
    def silent(self) -> bool:
        return float(np.abs(self.waveform).max(initial=0.0)) < SILENCE_PEAK


def audio_settings(audio_vae) -> tuple[int, int, int]:
    """(sample_rate, hop_length, mel_bins) from the audio VAE's config."""
    cfg = audio_vae.config
    return int(cfg.sample_rate), int(cfg.mel_hop_length), int(cfg.mel_bins)


def _video_start(container) -> float:
    if not container.streams.video:  # a sound file of its own (a manifest's `audio` column): it starts at 0
        return 0.0
    v = container.streams.video[0]
    return float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0


def decode_audio(path: Path, seconds: float, sample_rate: int) -> AudioTrack | None:
    """The first ``seconds`` of sound from the first video frame on, stereo at ``sample_rate``.

    None when the file has no audio stream. A stream that cannot be decoded raises ``LoraportError`` naming
    the file; the video stream is not touched.
    """
    import av

    path = Path(path)
    want = max(1, round(seconds * sample_rate))
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        source_rate, source_channels = int(stream.rate or 0), int(stream.channels or 0)
        t0 = _video_start(container)
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # the source's own layout: see to_stereo
        chunks, first, have = [], None, 0
        try:
            for frame in container.decode(stream):
                if first is None and frame.time is not None:
                    first = frame.time
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    have += out.samples
                if first is not None and have >= want + max(0, round((t0 - first) * sample_rate)):
                    break  # the window is covered; the rest of a long track is never decoded
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except (av.FFmpegError, ValueError, OverflowError) as exc:
            raise LoraportError(f"{path.name}: its sound track could not be decoded ({exc.__class__.__name__}); "
                                "the picture is fine. Re-export the file, or remove the sound track.") from exc
    if not chunks:
        raise LoraportError(f"{path.name}: has a sound track with no decodable audio in it; re-export the file, "
                            "or remove the sound track.")
    wave = to_stereo(np.concatenate(chunks, axis=1).astype(np.float32))  # (2, n)
    offset = round(((first if first is not None else t0) - t0) * sample_rate)  # > 0: sound starts late
    wave = np.pad(wave, ((0, 0), (offset, 0))) if offset > 0 else wave[:, -offset:]
    real = min(wave.shape[1], want) - max(0, offset)
    wave = np.pad(wave[:, :want], ((0, 0), (0, max(0, want - wave.shape[1]))))
    wave = np.nan_to_num(np.clip(wave, -1.0, 1.0))
    covered = max(0, real) / sample_rate
    if covered < MIN_SECONDS:
        raise LoraportError(f"{path.name}: its sound track holds no sound in the {seconds:.2f} s that train "
                            f"({covered:.2f} s); the sound starts too late or is cut short.")
    return AudioTrack(wave, sample_rate, source_rate, source_channels, covered, want / sample_rate)


def to_stereo(wave: np.ndarray) -> np.ndarray:
    """(channels, n) -> (2, n), as ltx-trainer mixes down for the audio VAE (which takes stereo): mono is copied
    to both sides; 5.1 (L R C LFE Ls Rs, FFmpeg's order) and 7.1 (+ Lb Rb) fold centre and surrounds in at 0.707
    with the weights scaled to sum to 1, so nothing clips and LFE is dropped; other layouts average to mono."""
    n = wave.shape[0]
    if n == 1:
        return np.repeat(wave, 2, axis=0)
    if n == 2:
        return wave
    if n in (6, 8):
        sides = (wave[2] + wave[4] + (wave[6] if n == 8 else 0.0), wave[2] + wave[5] + (wave[7] if n == 8 else 0.0))
        total = 1.0 + 0.707 * (2 if n == 6 else 3)  # 2.414 for 5.1, 3.121 for 7.1
        return np.stack([(wave[0] + 0.707 * sides[0]) / total, (wave[1] + 0.707 * sides[1]) / total])
    return np.repeat(wave.mean(axis=0, keepdims=True), 2, axis=0)


def log_mel(waveform: np.ndarray, sample_rate: int, hop: int, mel_bins: int, n_fft: int = N_FFT) -> np.ndarray:
    """(channels, N) -> (channels, T, mel_bins) float32 log-mel, T = N // hop + 1 (see the module docstring)."""
    from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

    filters = mel_filter_bank(num_frequency_bins=n_fft // 2 + 1, num_mel_filters=mel_bins, min_frequency=0.0,
                              max_frequency=sample_rate / 2.0, sampling_rate=sample_rate, norm="slaney",
                              mel_scale="slaney")
    window = window_function(n_fft, "hann")  # periodic, as torch.hann_window
    if waveform.shape[-1] <= n_fft // 2:  # reflect padding needs more samples than half a window
        waveform = np.pad(waveform, ((0, 0), (0, n_fft // 2 + 1 - waveform.shape[-1])))
    mels = [spectrogram(ch.astype(np.float64), window, frame_length=n_fft, hop_length=hop, fft_length=n_fft,
                        power=1.0, center=True, pad_mode="reflect", mel_filters=filters, mel_floor=MEL_FLOOR,
                        log_mel="log") for ch in waveform]
    return np.stack(mels).transpose(0, 2, 1).astype(np.float32)  # (C, T, M)


@torch.no_grad()
def encode_audio(audio_vae, track: AudioTrack) -> torch.Tensor:
    """A decoded track -> (L, C*M) float32 audio tokens, normalised as ``LTX2Pipeline`` normalises them."""
    from diffusers.pipelines.ltx2.pipeline_ltx2 import LTX2Pipeline

    sample_rate, hop, mel_bins = audio_settings(audio_vae)
    if track.sample_rate != sample_rate:
        raise ValueError(f"track at {track.sample_rate} Hz, the audio VAE wants {sample_rate} Hz")
    mel = torch.from_numpy(log_mel(track.waveform, sample_rate, hop, mel_bins))[None]  # (1, 2, T, M)
    param = next(audio_vae.parameters())
    latents = audio_vae.encode(mel.to(param.device, param.dtype)).latent_dist.mode()  # (1, C, L, M')
    tokens = LTX2Pipeline._pack_audio_latents(latents)  # (1, L, C*M')
    tokens = LTX2Pipeline._normalize_audio_latents(tokens, audio_vae.latents_mean, audio_vae.latents_std)
    return tokens[0].float()


def _decode(path: Path, seconds: float, rate: int, separate: bool) -> tuple[str | None, AudioTrack | None]:
    """(problem, track) for the sound of ``path``; ``separate``: a sound file named by the manifest, which (unlike
    the clip, probed already) may be missing or unreadable."""
    import av

    label = f"its audio file {path.name}" if separate else "its sound track"
    if separate and not path.is_file():
        return f"its audio file {path.name} is not in the dataset folder (add it or fix the 'audio' column)", None
    try:
        track = decode_audio(path, seconds, rate)
    except LoraportError as exc:
        return str(exc).removeprefix(f"{path.name}: "), None
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        return f"{label} could not be read ({exc.__class__.__name__}); re-export it as WAV, FLAC or AAC", None
    if track is None:
        return (f"{label} holds no sound stream" if separate else "it has no sound track"), None
    return ("its sound track is silent" if track.silent else None), track


def _fp32(audio_vae):
    """The audio VAE in float32, as ltx-trainer encodes audio ("needs float32 for quality"): a float32 copy when
    the model was loaded in bf16 (the audio VAE is small), the same module otherwise."""
    import copy

    if next(audio_vae.parameters()).dtype == torch.float32:
        return audio_vae
    return copy.deepcopy(audio_vae).float()


class SoundPreparer:
    """Audio runs: each clip's sound for the seconds its training frames cover -> cached audio tokens.

    A clip without usable sound (no stream, undecodable, digital silence, an image) trains video-only and is
    listed in ``without``; with ``audio = "required"`` it is refused instead (a per-file error).
    """

    def __init__(self, config: TrainConfig, components, cache, mkey: str):
        if getattr(components, "audio_vae", None) is None:
            raise LoraportError(f"{config.model.id} was loaded without its audio VAE, so the sound cannot train: "
                                "set audio = off, or load the model's audio_vae too.")
        self.vae, self.cache, self.mkey = _fp32(components.audio_vae), cache, mkey
        self.root = Path(config.data.dataset_dir).expanduser().resolve()
        self.required = config.data.audio == "required"
        self.without: list[MediaError] = []
        self.notes: list[MediaError] = []

    def prepare(self, media: Path, info, bucket: Bucket, fps: float, content: str,
                source: Path | None = None) -> torch.Tensor | None:
        """The clip's audio tokens, or None (listed in ``without``). ``source``: a separate sound file (a
        manifest's ``audio`` column, as ltx-trainer reads it) decoded instead of the clip's own track."""
        seconds = bucket.frames / fps  # exactly what the training frames cover
        rate = audio_settings(self.vae)[0]
        key = cache_key(self.mkey, content, "audio", f"{seconds:.6f}", rate)
        has_sound = info.kind == "video" and (info.has_audio or source is not None)
        cached = self.cache.get("audio", key) if has_sound else None
        if cached is not None:  # encoded before: nothing is decoded again
            self._note(media, float(cached["covered_s"]), seconds)
            return cached["latents"]
        problem, track = None, None
        if not has_sound:
            problem = "an image has no sound" if info.kind != "video" else "it has no sound track"
        else:
            problem, track = _decode(source or media, seconds, rate, separate=source is not None)
        if problem:
            if self.required:
                raise LoraportError(f"{media.name}: {problem}, and this recipe trains sound: it was left out. "
                                    "Use clips with their sound, or set audio = on to train such clips "
                                    "video-only.")
            self.without.append(MediaError(self._name(media), f"trained video-only: {problem.rstrip('.')}"))
            return None
        self._note(media, track.covered_s, seconds)
        return self.cache.get_or_make("audio", key, lambda: {
            "latents": encode_audio(self.vae, track), "covered_s": torch.tensor(track.covered_s)})["latents"]

    def _name(self, media: Path) -> str:
        """The clip as the dataset names it (its path relative to the dataset folder)."""
        media = media.resolve()
        return str(media.relative_to(self.root)) if media.is_relative_to(self.root) else media.name

    def _note(self, media: Path, covered: float, seconds: float) -> None:
        if covered + 1e-3 < seconds:
            self.notes.append(MediaError(self._name(media), f"its sound lasts {covered:.2f} s of the {seconds:.2f} s "
                                         "trained: the rest was padded with silence"))


def sound_message(data) -> str:
    """One progress line naming the clips of an audio run that train without their sound, and why."""
    listed = "; ".join(f"{e.media}: {e.message.removeprefix('trained video-only: ')}" for e in data.without_sound[:5])
    more = f" (and {len(data.without_sound) - 5} more)" if len(data.without_sound) > 5 else ""
    return f"{len(data.without_sound)} clip(s) train the picture only, without sound: {listed}{more}"


def sound_summary(data) -> dict:
    """What report.json's `data` says about sound: which clips trained it, which did not and why, remarks."""
    every = data.train + data.holdout
    return {"with_sound": sum(1 for it in every if getattr(it, "audio_latents", None) is not None),
            "without_sound": [{"media": e.media, "message": e.message} for e in data.without_sound],
            "audio_notes": [{"media": e.media, "message": e.message} for e in data.audio_notes]}

