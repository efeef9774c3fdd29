"""Distil an English sentence-embedding teacher into a multilingual student.

    python train.py                                   # the default experiment (see conf/config.yaml)
    python train.py experiment=smoke                  # < 60 s end-to-end check
    python train.py -m languages=seed5,eurasia4       # a sweep: one MLflow run per job
"""
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from polyglot_distill.config import register_configs
from polyglot_distill.errors import ConfigError

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from polyglot_distill.pipeline import run

    hc = HydraConfig.get()
    try:
        return run(cfg, cfg.output_dir or hc.runtime.output_dir, choices=dict(hc.runtime.choices))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
