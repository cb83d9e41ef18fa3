# bench/help.sh: sourced by the bench runners.  `bench_help "$@"` answers
# -h / --help with the paragraph at the top of the runner (its comment marks
# removed) and exits; with other arguments it does nothing.
bench_help()
{
	case "${1-}" in
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	esac
}
