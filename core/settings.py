"""Settings from the environment (``LORAPORT_*``), read when asked for, never at import."""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LORAPORT_", extra="ignore")

    home: Path = Field(Path("~/.loraport"), description="Workspace directory: database, datasets, cache, runs.")
    host: str = Field("127.0.0.1", description="Address `loraport serve` binds.")
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = Field(None, description="Required on every request when binding a non-loopback address.")
    public_url: str | None = Field(None, description="The address people and the Slack / Discord platforms reach "
                                   "this server at (e.g. https://loraport.example.com behind a TLS proxy); the bots "
                                   "name it in their set-up lines and their messages.")
    default_model: str = Field("tiny-ltx-2.3", description="Model id used when a command names none.")
    model_path: Path | None = Field(None, description="Local LTX-2.3 weights (diffusers folder or single file).")
    text_encoder_path: Path | None = Field(None, description="Local Gemma 3 folder for the single-file checkpoint.")
    caption_model: str | None = Field(None, description="Vision-language model (local path or hub id) for captions.")
    clip_model: str | None = Field(None, description="CLIP / SigLIP model (local path) for the prompt-adherence metric.")
    face_model: Path | None = Field(None, description="Local insightface model pack folder (.../models/buffalo_l) for "
                                    "identity similarity when evaluating a Face IC-LoRA (needs insightface).")
    ltx2_model_path: Path | None = Field(None, description="Local LTX-2 weights, for old-on-old vs new-on-new renders.")
    ltx25_model_path: Path | None = Field(None, description="Local LTX-2.5 weights (diffusers folder or single file), "
                                          "for --model ltx-2.5 and as-is / old-on-old comparisons.")
    ltx25_text_encoder_path: Path | None = Field(None, description="LTX-2.5's diffusers folder (or its LTX-tuned "
                                                 "Gemma 4 text_encoder/) beside a single-file LTX-2.5 checkpoint.")
    llm_model: str = Field("claude-sonnet-4-5", description="Claude model used by the anthropic brain.")
    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "LORAPORT_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "LORAPORT_ANTHROPIC_BASE_URL")
    )
    llm_provider: Literal["anthropic", "openai", "guided"] | None = Field(
        None, description="Brain: anthropic (Claude), openai (any OpenAI-compatible endpoint: Ollama, vLLM, "
        "llama.cpp, LM Studio, OpenAI, OpenRouter) or guided; unset = anthropic when ANTHROPIC_API_KEY is set.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 "
                                     "(Ollama); unset = api.openai.com.")
    llm_api_key: SecretStr | None = Field(None, description="Key for the OpenAI-compatible endpoint (local servers "
                                          "need none).")
    llm_timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for the language model before the guided "
                                 "assistant answers that turn instead.")
    max_upload_mb: int = Field(2048, ge=1, description="Largest single upload accepted, in MiB.")
    torch_threads: int = Field(1, ge=0, description="torch CPU threads; 0 keeps torch's default.")
    ray_address: str | None = Field(
        None, description="Run jobs on a Ray cluster: `auto`, `HOST:6379` or `ray://HOST:10001`; unset = this machine.")
    ray_gpus_per_job: int = Field(1, ge=1, le=64, description="GPUs one real-model training takes on the cluster "
                                  "(more than 1: torchrun inside its task).")

    slack_signing_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_api_base: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_BASE"))
    discord_public_key: str | None = Field(None, validation_alias=AliasChoices("DISCORD_PUBLIC_KEY"))
    discord_app_id: str | None = Field(None, validation_alias=AliasChoices("DISCORD_APP_ID"))
    discord_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("DISCORD_BOT_TOKEN"))
    discord_api_base: str = Field("https://discord.com/api/v10", validation_alias=AliasChoices("DISCORD_API_BASE"))
    bot_admins: list[str] = Field(default_factory=list, description="User ids allowed to approve any job.")

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """An address people and the platforms can open: scheme and host, no query; the trailing slash goes."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not a web address like https://loraport.example.com")
        return value.strip().rstrip("/")


def get_settings(**overrides) -> Settings:
    """Read settings now. Overrides (e.g. ``home=`` from a ``--home`` flag) win over the environment.

    A bad value is a ``LoraportError`` naming the variable to fix, not a validation traceback."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        from core.errors import LoraportError

        problems = []
        for e in err.errors()[:5]:
            name = str(e["loc"][0]) if e["loc"] else "?"
            field = Settings.model_fields.get(name)
            alias = field.validation_alias.choices[0] if field and isinstance(field.validation_alias, AliasChoices) \
                else f"LORAPORT_{name.upper()}"
            secret = any(word in name for word in ("key", "secret", "token"))
            shown = "" if secret or repr(e.get("input")) in e["msg"] else f" (got {e.get('input')!r:.60})"
            problems.append(f"{alias}: {e['msg'].removeprefix('Value error, ')}{shown}")
        raise LoraportError("A setting is wrong: " + "; ".join(problems) + ". Fix the environment variable or "
                            "flag and start again.") from None
