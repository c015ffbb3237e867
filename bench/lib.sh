# lib.sh: shell helpers the bench scripts share (sourced, not run).

wait_port() { # port: waits up to 30 s for something to listen on 127.0.0.1:port
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on $1" >&2
	return 1
}
