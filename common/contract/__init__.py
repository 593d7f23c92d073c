"""The hand-off between stages, in types: one typed record per file a stage writes for the next one.

| hand-off | file | record |
|---|---|---|
| download -> prepare | ``DIR/manifest.jsonl`` (one line each) | ``DownloadRecord`` |
| prepare -> train, eval | ``prepare_stats.json`` (and the card's YAML ``ytac_build``) | ``PrepareStats``, ``DatasetBuild`` |
| prepare -> eval | ``prepare_videos.jsonl`` (one line each) | ``VideoRow`` |
| train -> eval, predict | ``run_config.json`` | ``RunRecord`` |
| eval -> you | ``metrics.json`` | ``EvalRecord`` |

Every record is a frozen dataclass with ``schema_version``, ``to_json``/``from_json`` and ``read``/``write``; a bad or
missing field is one ``ContractError`` naming the file, the field and the expected type; files of the previous
version load. No other module reads these files by string key: they read attributes of these records
(tests/test_contract.py checks the source). docs/contract.md is generated from the fields' docs
(``python -m bench.docgen``).

Example::

    from common.contract import DownloadRecord, EvalRecord, RunRecord, latest_download_records
    run = RunRecord.read("runs/w2v/run_config.json")
    print(run.eval_window_seconds, run.dataset_build.clip_seconds)
"""

from common.contract.base import ContractError, Part, Record, record_classes
from common.contract.dataset import (CARD_KEY, STATS, VIDEOS, DatasetBuild, PrepareStats, VideoRow, read_build,
                                     read_video_rows)
from common.contract.downloads import (MANIFEST, DownloadRecord, FoundRecord, ManifestRead, append_record,
                                       latest_download_records, read_manifest)
from common.contract.evaluation import METRICS, EvalRecord
from common.contract.run import RESUME_CONFIG, RUN_CONFIG, RunRecord, read_run_record

# Every top-level record, in pipeline order (docs/contract.md lists them so).
RECORDS = (DownloadRecord, DatasetBuild, PrepareStats, VideoRow, RunRecord, EvalRecord)

__all__ = ["CARD_KEY", "ContractError", "DatasetBuild", "DownloadRecord", "EvalRecord", "FoundRecord", "METRICS",
           "MANIFEST", "ManifestRead", "Part", "PrepareStats", "RECORDS", "RESUME_CONFIG", "RUN_CONFIG", "Record",
           "RunRecord", "STATS", "VIDEOS", "VideoRow", "append_record", "latest_download_records", "read_build",
           "read_manifest", "read_run_record", "read_video_rows", "record_classes"]
