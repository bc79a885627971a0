// Command cluster runs sioloop's chat-and-rooms demo (examples/chat) as a
// cluster: three nodes sharing their rooms and broadcasts through one Redis
// (adapter/redis), behind nginx with sticky sessions (nginx.conf).
//
//	go run ./examples/cluster                 # http://localhost:3000
//	go run ./examples/cluster -redis 127.0.0.1:6379 -nodes 5 -ticker 2s
//
// One command starts everything and Ctrl-C stops everything:
//
//   - redis-server on a free loopback port, without persistence (--save ""
//     --appendonly no), unless -redis names a running Redis;
//   - -nodes sio servers in this process, on 127.0.0.1:-node-port and the
//     ports after it, each with its own Redis connection
//     (redis.New, or redis.NewSharded with -sharded) and
//     sio.Config{Adapter: ra.ForNamespace}, each running package chatdemo's
//     handlers and page, as examples/chat does, and naming itself in the
//     welcome message ("(node-2)");
//   - nginx on -addr, from nginx.conf with its "[site]" lines rewritten
//     (one upstream server per node, paths in a temporary directory),
//     when nginx is installed (-nginx off: without it).
//
// The nodes know nothing of each other beyond Redis: each could as well be
// a process of its own, on its own machine. A chat message sent to one node
// reaches the sockets of every node, and POST /score reaches a team's room
// on every node, whichever node nginx gives the request to. -ticker runs the
// demo's random scores on the first node only: its broadcasts reach all.
package main
