"""Distil an English sentence-embedding teacher into a multilingual student.

    python train.py                                   # the default experiment (see conf/config.yaml)
    python train.py experiment=smoke                  # < 90 s end-to-end check
    python train.py -m languages=seed5,eurasia4       # a sweep: a parent MLflow run, one child run per job

    python train.py resume=last                       # continue the newest killed run from its checkpoint

A single run exits 2 on a config error (``error: ...`` on stderr), 3 when training diverges (NaN/inf loss),
130 on SIGINT (Ctrl-C) and 143 on SIGTERM; its MLflow run then ends FAILED or KILLED (docs/reliability.md).
In a sweep a failing job is logged and recorded as a FAILED child run while the other jobs go on; the sweep
then exits 1 (see docs/sweeps.md).
"""
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from polyglot_distill.config import safety
from polyglot_distill.config.schema import register_configs, saved_group_schema
from polyglot_distill.errors import ConfigError
from polyglot_distill.tracking import runs, sweep
from polyglot_distill.training import checkpoints
from polyglot_distill.training.guard import TrainingDiverged

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from polyglot_distill.pipeline import run

    hc = HydraConfig.get()
    output_dir, choices = cfg.output_dir or hc.runtime.output_dir, dict(hc.runtime.choices)
    if hc.mode == RunMode.MULTIRUN:
        return sweep.run_job(run, cfg, output_dir, choices)
    runs.forget_parent_run()
    try:
        if cfg.resume:
            output_dir, cfg = _resumed(cfg, output_dir, hc.overrides.task)
        return run(cfg, output_dir, choices=choices)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(3)
    except KeyboardInterrupt:
        print(f"interrupted (SIGINT); resume with resume={output_dir}", file=sys.stderr)
        sys.exit(130)
    except runs.Interrupted as err:
        print(f"{err}; resume with resume={output_dir}", file=sys.stderr)
        sys.exit(err.exit_status)


def _resumed(cfg: DictConfig, output_dir: str, overrides: list[str]) -> tuple[str, DictConfig]:
    """``resume=`` alone continues with the run's saved config; with other overrides, they must agree with it
    (checked in the pipeline)."""
    run_dir = checkpoints.find_run_dir(cfg.resume, Path(output_dir))
    if all(o.split("=", 1)[0].lstrip("+~") in ("resume", "output_dir") or o.startswith("hydra.") for o in overrides):
        saved = checkpoints.saved_config(run_dir)
        with open_dict(saved):
            saved.resume = cfg.resume
        for group in ("student", "data"):  # the saved run's own schema (tiny student, its data source's keys)
            cfg[group] = OmegaConf.merge(OmegaConf.structured(saved_group_schema(group, saved[group])), saved[group])
        cfg = OmegaConf.merge(cfg, saved)
    return str(run_dir), cfg


if __name__ == "__main__":
    runs.stop_on_signals()
    try:
        safety.check_cli_targets(sys.argv[1:], Path(__file__).parent / "conf")
        main()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # a sweep (a single run exits in main); its parent run ends KILLED at exit
        print("interrupted (SIGINT)", file=sys.stderr)
        sys.exit(130)
    except runs.Interrupted as err:
        print(err, file=sys.stderr)
        sys.exit(err.exit_status)
    sys.exit(sweep.exit_status())
