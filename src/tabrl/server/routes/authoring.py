"""Reward authoring: `/api/policy/generate` (alias `/api/training/approaches`), `/api/llm/*`,
`/api/rewards/check`."""

from __future__ import annotations

from fastapi import APIRouter

from tabrl.server.schemas import (
    ErrorBody,
    GenerateRequest,
    GenerateResponse,
    ProviderOut,
    RewardCheckRequest,
    RewardCheckResponse,
    SelectProviderRequest,
)

router = APIRouter(tags=["authoring"])
_ERRORS = {
    400: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody},
    502: {"model": ErrorBody},
    504: {"model": ErrorBody},
}


def _generate(body: GenerateRequest) -> GenerateResponse:
    from tabrl.authoring import generate_approaches
    from tabrl.training.levels import plan_steps

    result = generate_approaches(
        body.scene_id, body.prompt, provider=body.provider, model=body.model, base_url=body.base_url,
        n=body.n, budget=body.budget,
    )  # fmt: skip
    plan_steps(result.scene, result.approaches, body.budget)
    return GenerateResponse(**result.to_dict())


@router.post(
    "/policy/generate", response_model=GenerateResponse, responses=_ERRORS, summary="Reward approaches"
)
def generate(body: GenerateRequest) -> GenerateResponse:
    """N distinct, compiled reward approaches for a task in plain language (offline by default)."""
    return _generate(body)


@router.post(
    "/training/approaches",
    response_model=GenerateResponse,
    responses=_ERRORS,
    summary="Alias of /policy/generate",
)
def approaches(body: GenerateRequest) -> GenerateResponse:
    """The same as POST /api/policy/generate."""
    return _generate(body)


@router.get("/llm/providers", response_model=list[ProviderOut], summary="LLM providers")
def providers() -> list[ProviderOut]:
    """Every provider, whether it is configured, its default model; never keys."""
    from tabrl.authoring import list_providers

    return [ProviderOut(**p) for p in list_providers()]


@router.post(
    "/llm/select", response_model=list[ProviderOut], responses=_ERRORS, summary="Choose the default LLM"
)
def select(body: SelectProviderRequest) -> list[ProviderOut]:
    """Make a configured provider (and model) the default for requests that name none."""
    from tabrl.authoring import list_providers, select_default

    select_default(body.provider, body.model, body.base_url)
    return [ProviderOut(**p) for p in list_providers()]


@router.post(
    "/rewards/check", response_model=RewardCheckResponse, responses=_ERRORS, summary="Check reward code"
)
def check(body: RewardCheckRequest) -> RewardCheckResponse:
    """Compile reward code against a scene: valid or not, its terms, errors with line numbers."""
    from tabrl.rewards import check_reward
    from tabrl.scenes import get_spec

    get_spec(body.scene_id)  # unknown scene: 404, not a reward error
    return RewardCheckResponse(**check_reward(body.code, body.scene_id).to_dict())


@router.post(
    "/rewards/check-success",
    response_model=RewardCheckResponse,
    responses=_ERRORS,
    summary="Check a success check",
)
def check_success_code(body: RewardCheckRequest) -> RewardCheckResponse:
    """Compile a success check (measure(s), GOALS, SETTLE_S) against a scene: valid or not, its
    measures (as `terms`), errors with line numbers."""
    import time

    from tabrl.rewards.checks import check_success
    from tabrl.rewards.compiler import compile_measure
    from tabrl.scenes import get_spec

    get_spec(body.scene_id)  # unknown scene: 404, not a check error
    start = time.perf_counter()
    errors = check_success(body.code, body.scene_id)
    measure, _ = compile_measure(body.code, body.scene_id) if not errors else (None, [])
    return RewardCheckResponse(
        valid=not errors, terms=list(measure.terms) if measure else [], errors=[e.to_dict() for e in errors],
        duration_s=time.perf_counter() - start,
    )  # fmt: skip
