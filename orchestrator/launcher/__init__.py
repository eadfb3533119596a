"""`dagyard up`: the whole system (Redis, worker, beat, web) in one supervised command."""
