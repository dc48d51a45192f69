"""report: reports/report.md and a self-contained reports/report.html."""

from cnnlab.report.build import build_report
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(build_report)
