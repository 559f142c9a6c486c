"""Live figures: the event bus (in process or Redis), the one site-status judge, writers' health."""
