// Package mdsection keeps generated sections of a markdown file apart, so
// that several generators can share one file: each section sits between
// the lines
//
//	<!-- begin NAME -->
//	<!-- end NAME -->
//
// Replace rewrites one section and leaves the rest of the file as it was;
// Carry lets a generator that writes the whole file (benchreport) keep the
// sections other generators (loadgen) wrote.
package mdsection
