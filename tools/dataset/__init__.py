"""Dataset tools: import a folder, zip or uploads into the workspace, and check what it holds."""

from tools.dataset.models import DatasetReport, FileEntry
from tools.dataset.service import check_dataset, import_dataset, load_report, resolve_dataset_id

__all__ = ["DatasetReport", "FileEntry", "check_dataset", "import_dataset", "load_report", "resolve_dataset_id"]
