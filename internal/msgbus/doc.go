// Package msgbus is the implementation behind package bus: messages
// between the replicas of a service through the database they share (see
// package bus for how), and the wake keys other packages' writes send.
// Package bus's Bus is this package's Bus under another name, so that the
// packages a user gives a bus.Bus (cache, tasks, the adapters' relay)
// convert it, (*msgbus.Bus)(b), and publish, subscribe and watch, while
// the user sees only New, Run and the options.
package msgbus
