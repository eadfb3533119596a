import json
import logging

from orchestrator.logformat import JsonFormatter


def test_json_log_lines_carry_level_logger_message_and_extra_fields():
    record = logging.makeLogRecord(
        {"name": "dags.runs", "levelname": "ERROR", "levelno": 40, "msg": "node %s failed",
         "args": ("extract",), "run_id": 42}
    )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert line["logger"] == "dags.runs"
    assert line["message"] == "node extract failed"
    assert line["run_id"] == 42
    assert line["time"].endswith("+00:00")
