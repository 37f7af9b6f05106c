// Command mkdeb builds xdhcp's Debian packages (make deb):
//
//	go run ./packaging/mkdeb [-version V] [-out DIR] [-arch ARCH]
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/xdhcp/xdhcp/packaging"
)

func main() {
	root := flag.String("root", ".", "repository `root`")
	out := flag.String("out", "out/deb", "output `directory`")
	version := flag.String("version", "", "Debian `version` (default 0.0~git<commit time>.<hash>-1)")
	arch := flag.String("arch", "amd64", "Debian `architecture`")
	flag.Parse()
	if *version == "" {
		v, err := packaging.GitVersion(*root)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdeb: %v (or give -version)\n", err)
			os.Exit(1)
		}
		*version = v
	}
	pkgs, err := packaging.Build(packaging.Options{Root: *root, Out: *out, Version: *version, Arch: *arch})
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	var names []string
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(pkgs[n])
	}
}
