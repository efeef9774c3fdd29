"""Distil an English sentence-embedding teacher into a multilingual student.

    python train.py                                   # the default experiment (see conf/config.yaml)
    python train.py experiment=smoke                  # < 60 s end-to-end check
    python train.py -m languages=seed5,eurasia4       # a sweep: a parent MLflow run, one child run per job

A single run exits 2 on a config error (``error: ...`` on stderr). In a sweep a failing job is logged and
recorded as a FAILED child run while the other jobs go on; the sweep then exits 1 (see docs/sweeps.md).
"""
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from polyglot_distill import sweep, tracking
from polyglot_distill.config import register_configs
from polyglot_distill.errors import ConfigError

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from polyglot_distill.pipeline import run

    hc = HydraConfig.get()
    output_dir, choices = cfg.output_dir or hc.runtime.output_dir, dict(hc.runtime.choices)
    if hc.mode == RunMode.MULTIRUN:
        return sweep.run_job(run, cfg, output_dir, choices)
    tracking.forget_parent_run()
    try:
        return run(cfg, output_dir, choices=choices)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
    sys.exit(sweep.exit_status())
