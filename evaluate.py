"""Score any model with the eval group, without training, and log it to MLflow like a run.

    python evaluate.py model=e5-small eval=udhr_zero_shot              # UDHR retrieval in ~456 languages
    python evaluate.py model=minilm-l6 'eval=[offline,stsb_multi]'     # held-out pairs + multilingual STSb
    python evaluate.py model=outputs/2026-11-27/10-00-00/model         # a distilled student

``model`` is a bundled name (e5-small, minilm-l6), a local folder or a Hugging Face Hub id (docs/evaluate.md).
Exits 2 on a config error (``error: ...`` on stderr).
"""
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from polyglot_distill.config.schema import register_configs
from polyglot_distill.errors import ConfigError
from polyglot_distill.tracking import runs

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from polyglot_distill.evaluation.standalone import run

    hc = HydraConfig.get()
    runs.forget_parent_run()
    try:
        run(cfg, cfg.output_dir or hc.runtime.output_dir, choices=dict(hc.runtime.choices))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
