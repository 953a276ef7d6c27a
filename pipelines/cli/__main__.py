"""`python -m pipelines.cli` runs the `grd` command (handy from a checkout or a worktree)."""

from pipelines.cli import main

if __name__ == "__main__":
    main()
