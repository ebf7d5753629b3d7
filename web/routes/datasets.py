"""Datasets: the report of an imported dataset (files, buckets, captions) and the user's caption edits."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from web.deps import DbDep, WorkspaceDep

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


class CaptionEdit(BaseModel):
    media: str = Field(description="The file's name inside the dataset, as the report lists it.")
    caption: str = Field(max_length=4000, description="The new caption, without the trigger word.")


@router.get("/{dataset_id}")
def read_dataset(dataset_id: str, db: DbDep, workspace: WorkspaceDep) -> dict:
    from tools.dataset import load_report

    return load_report(db, workspace, dataset_id).model_dump(mode="json")


@router.put("/{dataset_id}/captions")
def update_caption(dataset_id: str, edit: CaptionEdit, workspace: WorkspaceDep) -> dict:
    """Store a caption the user edited; training uses it with the trigger word in front."""
    from tools.caption.service import set_caption

    return set_caption(dataset_id, edit.media, edit.caption, workspace=workspace).model_dump(mode="json")
