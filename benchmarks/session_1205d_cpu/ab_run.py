"""host_overhead.py's CPU table for the mmmamba tree at argv[1] (a
checkout or worktree), bypassing the editable install's import hook so
that two trees can be compared in alternating processes on one machine:

    cd /tmp && python /work/main/benchmarks/session_1205d_cpu/ab_run.py TREE
"""
import sys

root = sys.argv[1]
sys.meta_path[:] = [f for f in sys.meta_path
                    if 'editable' not in type(f).__module__
                    and 'editable' not in str(f)]
sys.path.insert(0, root)
sys.path.insert(0, '/work/main/tools/analysis_tools')
import mmmamba  # noqa: E402

assert mmmamba.__file__.startswith(root), mmmamba.__file__
sys.argv = ['host_overhead.py', '--device', 'cpu', '--rounds', '9']
import host_overhead  # noqa: E402

host_overhead.main()
