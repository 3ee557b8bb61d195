// Package cmdline holds what the project's commands share in reading their arguments.
package cmdline

import "flag"

// Parse parses fs and returns the positional arguments, allowing flags after them too
// ("ingest FILE -title T"), which the standard flag package stops at.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
