package servercmds

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Where config-write may write. Kea up to 2.4.1 / 2.6.2 wrote any path the
// caller named, as its user (root), which turned the command into "write
// this file anywhere"; Kea 2.4.2 and 2.6.3 (Daemon::checkWriteConfigFile,
// src/lib/process/daemon.cc) accept only a file in the same directory as
// the configuration file, a bare name meaning one in that directory.
// xdhcpd does the same and also refuses a target that is a symbolic link
// or anything but a regular file, and writes atomically with mode 0600
// (the file may carry basic-auth passwords).

// configWritePath resolves config-write's filename against the
// configuration file the server was started with: "" is that file; a
// relative name is relative to its directory; the result must lie directly
// in that directory (as Kea: the parent directories must be equal, so no
// "..", no subdirectory) and must not be a symbolic link nor an existing
// non-regular file.
func configWritePath(configFile, filename string) (string, error) {
	if configFile == "" {
		return "", errors.New("the server was started without a configuration file")
	}
	cfg, err := filepath.Abs(configFile)
	if err != nil {
		return "", fmt.Errorf("configuration file %s: %w", configFile, err)
	}
	dir := filepath.Dir(cfg)
	target := cfg
	if filename != "" {
		base := filepath.Base(filename)
		if base == "." || base == ".." || base == string(filepath.Separator) || filename[len(filename)-1] == filepath.Separator {
			return "", fmt.Errorf("config file:%s is missing file name", filename)
		}
		target = filename
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		target = filepath.Clean(target)
		if filepath.Dir(target) != dir {
			return "", fmt.Errorf("file %s must be in the same directory as the config file (%s)", filename, configFile)
		}
	}
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return target, nil
	case err != nil:
		return "", fmt.Errorf("stat %s: %w", target, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("%s is a symbolic link (config-write does not follow links)", target)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file", target)
	}
	return target, nil
}

// writeConfigFile replaces path with data atomically: a new file, mode
// 0600, created exclusively in the same directory, written and synced,
// then renamed over path (rename replaces a link planted meanwhile rather
// than following it), then the directory is synced.
func writeConfigFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
