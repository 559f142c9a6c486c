"""Benchmarks behind `attendance bench …`: they print figures; targets are judged by people."""
