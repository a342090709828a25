"""Terraform engine benchmark: the engine's apply against Terraform run by hand, same Terraform.

Prints, measured in one run on the provider-free fixture template
(tests/fixtures/templates/terraform-only, five terraform_data resources in two modules):
- apply_ratio: median engine apply of a new deployment (render, `init`, `apply -json` with its
  events handed on as they come, the outputs read from it) over the median of `terraform init &&
  terraform apply -auto-approve` run by hand in a fresh copy of the same rendered module,
  through the same Terraform command (the embedded one through the shim, or
  PORTAL_TERRAFORM_BIN's) and environment;
- destroy_ratio: the same for the engine's destroy (its state read, `init` skipped when the
  directory is initialised, `destroy -json`, the directory removed) against `terraform destroy
  -auto-approve` in the hand run's directory;
- portal_launch_ratio: median portal launch of the same template (`environment_service.launch`
  with engine terraform: validate, advise, record, apply, outputs, the run ended) over the same
  hand runs, and portal_destroy_ratio likewise; the portal is on the embedded cloud, which the
  module never calls;
- command_s: the median of `terraform version` alone, what each child process costs;
- terraform: which Terraform ran.

Engine and hand runs alternate, after one warm-up of each, so that neither gets the warmer disk
cache or the quieter seconds.

    python bench/terraform.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services import environment_service as environments
from services.catalog_service import Catalog
from services.clouds import embedded
from services.context import PortalContext
from services.identity import Actor, Role
from services.clouds import CloudConnection, new_session
from services.engines.base import DeploymentRef, DeploymentRequest, ResourceEvent
from services.engines.terraform_engine import TerraformEngine
from services.render_service import portal_tags, terraform_files
from services.settings import CloudTarget, Settings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "templates"
TEMPLATE = "terraform-only"
DEADLINE_S = 300.0
# An instructor: the portal's limits and budget are not what is measured.
OPERATOR = Actor("bench-operator", Role.INSTRUCTOR, is_admin=True)


class Bench:
    def __init__(self, data_dir: Path) -> None:
        # The environment's PORTAL_TERRAFORM_* settings apply: the bench measures the Terraform
        # this machine is configured with.
        settings = Settings(data_dir=data_dir)
        # The fixture module calls no cloud; nothing needs to listen at the endpoint.
        connection = CloudConnection(
            target=CloudTarget.EMBEDDED, region=settings.region,
            endpoint_url="http://127.0.0.1:9",
            session=new_session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name=settings.region))
        self.engine = TerraformEngine(connection, settings)
        self.runner = self.engine.runner
        self.manifest = Catalog(FIXTURES).get_template(TEMPLATE)
        self.by_hand = data_dir / "by-hand"
        self.count = 0

    def request(self) -> DeploymentRequest:
        self.count += 1
        name = f"sbx-bench{self.count}"
        return DeploymentRequest(
            env_id=name, deployment_name=name, manifest=self.manifest,
            values=self.manifest.defaults(),
            tags=portal_tags(env_id=name, owner="bench", template_id=self.manifest.id),
            region=self.engine.connection.region)

    def engine_cycle(self) -> tuple[float, float]:
        request = self.request()
        events: list[ResourceEvent] = []
        started = time.perf_counter()
        result = self.engine.apply(request, deadline=time.monotonic() + DEADLINE_S,
                                   on_events=events.extend)
        applied = time.perf_counter()
        if not result.succeeded or len(events) != 10 or len(result.outputs) != 3:
            raise RuntimeError(f"engine apply: {result.error or 'events or outputs missing'}")
        ref = DeploymentRef(request.env_id, request.deployment_name, result.deployment_id)
        gone = self.engine.destroy(ref, deadline=time.monotonic() + DEADLINE_S,
                                   on_events=events.extend)
        destroyed = time.perf_counter()
        if not gone.succeeded:
            raise RuntimeError(f"engine destroy: {gone.error}")
        return applied - started, destroyed - applied

    def terraform(self, folder: Path, *args: str) -> None:
        subprocess.run([*self.runner.command(), *args], cwd=folder,
                       env=self.runner.environment(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)

    def hand_cycle(self) -> tuple[float, float]:
        request = self.request()
        folder = self.by_hand / request.deployment_name
        for relative, text in terraform_files(request.manifest, request.values,
                                              region=request.region,
                                              tags=request.tags).items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
        started = time.perf_counter()
        self.terraform(folder, "init", "-input=false")
        self.terraform(folder, "apply", "-auto-approve", "-input=false")
        applied = time.perf_counter()
        self.terraform(folder, "destroy", "-auto-approve", "-input=false")
        return applied - started, time.perf_counter() - applied

    def portal_cycle(self, ctx: PortalContext) -> tuple[float, float]:
        started = time.perf_counter()
        env = environments.launch(ctx, actor=OPERATOR, template_id=TEMPLATE, parameters={},
                                  engine="terraform")
        launched = time.perf_counter()
        if env.status != "ready" or len(env.outputs) != 3:
            raise RuntimeError(f"portal launch: {env.status}: {env.status_reason}")
        gone = environments.destroy(ctx, actor=OPERATOR, env_id=env.env_id)
        destroyed = time.perf_counter()
        if gone.status != "destroyed":
            raise RuntimeError(f"portal destroy: {gone.status}: {gone.status_reason}")
        return launched - started, destroyed - launched

    def command_s(self) -> float:
        started = time.perf_counter()
        self.terraform(self.by_hand, "version")
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-terraform-") as scratch:
        bench = Bench(Path(scratch))
        bench.by_hand.mkdir()
        portal_settings = Settings(data_dir=Path(scratch) / "portal", templates_dir=FIXTURES,
                                   collect_interval_s=0, budget_check_interval_s=0)
        ctx = PortalContext(portal_settings)
        try:
            # warm-up: the shared library into the cache, the emulator started
            bench.engine_cycle(), bench.hand_cycle(), bench.portal_cycle(ctx)
            engine_times: list[tuple[float, float]] = []
            hand_times: list[tuple[float, float]] = []
            portal_times: list[tuple[float, float]] = []
            commands: list[float] = []
            for _ in range(args.repeats):
                engine_times.append(bench.engine_cycle())
                hand_times.append(bench.hand_cycle())
                portal_times.append(bench.portal_cycle(ctx))
                commands.append(bench.command_s())
        finally:
            embedded.stop(portal_settings)
    engine_apply = statistics.median(t[0] for t in engine_times)
    hand_apply = statistics.median(t[0] for t in hand_times)
    portal_launch = statistics.median(t[0] for t in portal_times)
    portal_destroy = statistics.median(t[1] for t in portal_times)
    engine_destroy = statistics.median(t[1] for t in engine_times)
    hand_destroy = statistics.median(t[1] for t in hand_times)
    figures = {
        "terraform": bench.runner.label,
        "repeats": args.repeats,
        "apply_ratio": round(engine_apply / hand_apply, 3),
        "engine_apply_s": round(engine_apply, 3),
        "manual_apply_s": round(hand_apply, 3),
        "destroy_ratio": round(engine_destroy / hand_destroy, 3),
        "engine_destroy_s": round(engine_destroy, 3),
        "manual_destroy_s": round(hand_destroy, 3),
        "portal_launch_ratio": round(portal_launch / hand_apply, 3),
        "portal_launch_s": round(portal_launch, 3),
        "portal_destroy_ratio": round(portal_destroy / hand_destroy, 3),
        "portal_destroy_s": round(portal_destroy, 3),
        "command_s": round(statistics.median(commands), 3),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{TEMPLATE} with {figures['terraform']}, medians of {args.repeats}:")
        print(f"  apply: engine {engine_apply:.3f} s (render, init, apply -json), by hand "
              f"{hand_apply:.3f} s (init && apply): ratio {figures['apply_ratio']}")
        print(f"  destroy: engine {engine_destroy:.3f} s, by hand {hand_destroy:.3f} s: "
              f"ratio {figures['destroy_ratio']}")
        print(f"  portal launch {portal_launch:.3f} s: ratio {figures['portal_launch_ratio']}; "
              f"portal destroy {portal_destroy:.3f} s: ratio {figures['portal_destroy_ratio']}")
        print(f"  one command (terraform version): {figures['command_s']:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
