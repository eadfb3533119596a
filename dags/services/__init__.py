"""The only code that changes DAG and run state. Views, tasks and commands call these."""
