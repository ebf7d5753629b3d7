"""The workspace directory: everything loraport keeps lives under ``$LORAPORT_HOME``."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic-settings costs ~0.1 s to import: only from_settings needs it
    from core.settings import Settings


@dataclass(frozen=True)
class Workspace:
    home: Path

    @classmethod
    def from_settings(cls, settings: "Settings | None" = None) -> "Workspace":
        from core.settings import get_settings

        settings = settings or get_settings()
        return cls(Path(settings.home)).ensure()

    def ensure(self) -> "Workspace":
        for d in (self.home, self.datasets_dir, self.runs_dir, self.cache_root, self.uploads_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def db_path(self) -> Path:
        return self.home / "loraport.db"

    @property
    def agent_checkpoint_path(self) -> Path:
        return self.home / "agent-checkpoints.db"

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def cache_root(self) -> Path:
        return self.home / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.datasets_dir / _safe_id(dataset_id)

    def run_dir(self, job_id: str) -> Path:
        return self.runs_dir / _safe_id(job_id)

    def cache_dir(self, model_id: str) -> Path:
        return self.cache_root / _safe_id(model_id)


def _safe_id(value: str) -> str:
    """Ids become directory names: refuse anything that could walk out of the workspace."""
    from core.errors import LoraportError

    if (not isinstance(value, str) or not value or "/" in value or "\\" in value or value.startswith(".")
            or len(value.encode("utf-8", "surrogatepass")) > 200 or not value.isprintable()):
        # NUL and other control characters, and names past the file system's 255 bytes, fail only at mkdir
        raise LoraportError(f"{value!r:.80} is not a valid id: use letters, digits, '-', '_' and '.' "
                            "(at most 200 characters).")
    return value
