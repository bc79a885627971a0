package main

import "errors"

func runSIO(addr string) error { return errors.New("sio mode: not built yet") }
