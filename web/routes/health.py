"""Liveness and readiness, for an orchestrator (Docker, Kubernetes, systemd watchdogs) and for people.

``/api/health`` answers while the process serves (liveness: restart me if this stops answering). ``/api/ready``
answers 200 only when the store opens and a job worker holds this workspace, so queued training will actually
run (readiness: 503 with the reason otherwise).
"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core.disk import MiB, free_space
from core.store import open_db
from trainer.models import is_tiny
from trainer.worker_lock import held_locks
from web.deps import SettingsDep, WorkspaceDep

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def read_health(settings: SettingsDep) -> dict:
    return {"status": "ok", "version": "0.1.0", "home": str(settings.home), "default_model": settings.default_model,
            "default_model_tiny": is_tiny(settings.default_model)}  # the panel's demo-model note and Studio twins


@router.get("/ready", responses={503: {"description": "Not ready: the store or the job worker is missing."}})
def read_ready(workspace: WorkspaceDep) -> JSONResponse:
    problems = []
    try:
        open_db(workspace, check_same_thread=False).close()
    except Exception as err:  # any failure to open the store makes the service unready; say which
        problems.append(f"the store cannot be opened: {err}")
    workers = held_locks(workspace)
    if not workers:
        problems.append("no job worker is running for this workspace (it starts with `loraport serve`, or run "
                        "`loraport worker`)")
    body = {"ready": not problems, "problems": problems,
            "workers": [{"pid": w.get("pid"), "device": w.get("device"), "since": w.get("since")} for w in workers],
            "disk_free_mb": round(free_space(workspace.home) / MiB, 1)}
    return JSONResponse(body, status_code=200 if not problems else 503)
