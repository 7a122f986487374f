// Command pause is the Pod sandbox of the dev cluster's real node: it holds the Pod's
// namespaces open and does nothing until the kubelet stops the sandbox. As PID 1 of a Pod
// that shares its PID namespace it also reaps orphaned children, which would otherwise
// stay zombies. Static (CGO_ENABLED=0), so its image needs no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0) // the kubelet (via the runtime) asks the sandbox to stop
		}
		// Signals coalesce: one SIGCHLD may stand for several exited children.
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
