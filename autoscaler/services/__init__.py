"""The autoscaler's services: the only code that scales pools or changes nodes' state."""
