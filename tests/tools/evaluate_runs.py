"""Real tiny-model runs for the evaluation tests, trained once per test module (seconds each, one thread).

Settings were found empirically on the tiny model (seeds fixed, so every run is deterministic):
- weak: the consistent concept, 10 steps at lr 1e-4 (the fewest steps a plan allows): held-out loss under 1%
  below base, pixels barely move;
- good: the consistent concept (6 clips of a square sweeping right), 80 steps at lr 1e-3, rank 8: held-out loss
  falls steadily to ~0.67x the base's;
- over-fit: two bright clips trained 240 steps at lr 3e-2, rank 16, a dark clip held out: training loss keeps
  falling while held-out loss rises well above its best checkpoint, and the LoRA removes far more of the loss on
  its two clips than on the held-out one.
"""

import json
from pathlib import Path

from tests.trainer.clips import make_clip
from tests.trainer.train_utils import concept_dataset, tiny_config

OVERFIT_STEPS = 240


def overfit_dataset(root: Path) -> Path:
    """Two bright training clips and one dark held-out clip, marked in captions.jsonl."""
    root = Path(root)
    colours = [(250, 250, 250), (220, 220, 220), (10, 10, 10)]
    rows = []
    for i, colour in enumerate(colours):
        make_clip(root / f"c{i}.mp4", color=colour)
        rows.append({"media": f"c{i}.mp4", "caption": "a clip of static",
                     "split": "holdout" if i == 2 else "train"})
    (root / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def train_runs(root: Path) -> dict[str, Path]:
    """{"weak" | "good" | "overfit": run_dir}, each a finished run with report.json and kept checkpoints."""
    from trainer.train import run_training

    concept = concept_dataset(root / "concept", n=6)
    configs = {
        "weak": tiny_config(concept, steps=10, lora={"rank": 8, "alpha": 8}, optim={"learning_rate": 1e-4},
                            checkpoints={"every": 20, "keep": 3}),
        "good": tiny_config(concept, steps=80, lora={"rank": 8, "alpha": 8}, checkpoints={"every": 20, "keep": 3}),
        "overfit": tiny_config(overfit_dataset(root / "two"), steps=OVERFIT_STEPS, lora={"rank": 16, "alpha": 16},
                               optim={"learning_rate": 3e-2}, checkpoints={"every": 40, "keep": 3}),
    }
    runs = {}
    for name, cfg in configs.items():
        runs[name] = run_training(cfg, root / f"run-{name}").run_dir
    return runs


def tiny_clip(folder: Path) -> Path:
    """A CLIP with random weights and a word-level tokenizer, saved locally (nothing downloaded)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["a red square cat dog sks moving"],
                            trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "<s>", "</s>"]))
    # CLIP pools the text at its end token: every prompt must carry one
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=8)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(vocab_size=fast.vocab_size, hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=8,
                                      eos_token_id=3, pad_token_id=0, bos_token_id=2),
                     vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, image_size=32, patch_size=8), projection_dim=8)
    CLIPModel(cfg).save_pretrained(folder)
    CLIPProcessor(image_processor=images, tokenizer=fast).save_pretrained(folder)
    return folder

