using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// What a process the tests started writes to its console, line by line: a test waits for the line that says what it
/// needs (listening, a call completed) instead of polling the process from outside. Reading also keeps the pipe
/// drained, so a chatty process never blocks on a full one.
/// </summary>
public sealed class ConsoleLines
{
    private static readonly ConditionalWeakTable<Process, ConsoleLines> Watched = new();
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Changes _changes = new();

    private ConsoleLines()
    {
    }

    /// <summary>Whether the process has exited.</summary>
    public bool Exited { get; private set; }

    /// <summary>Starts <paramref name="info"/> (with standard output redirected) and watches what it writes.</summary>
    public static Process Start(ProcessStartInfo info)
    {
        var lines = new ConsoleLines();
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lines._lines.Enqueue(line);
                lines._changes.Notify();
            }
        };
        process.Exited += (_, _) =>
        {
            lines.Exited = true;
            lines._changes.Notify();
        };
        process.Start();
        process.BeginOutputReadLine();
        Watched.Add(process, lines);
        return process;
    }

    /// <summary>The lines of a process started by <see cref="Start"/>.</summary>
    public static ConsoleLines Of(Process process) => Watched.TryGetValue(process, out var lines) ? lines : throw new InvalidOperationException("The process was not started through ConsoleLines.");

    /// <summary>Returns once <paramref name="count"/> lines contain <paramref name="text"/>, or the process has exited.</summary>
    public Task UntilAsync(string text, int count = 1) =>
        _changes.UntilAsync(() => Exited || _lines.Count(line => line.Contains(text, StringComparison.Ordinal)) >= count, $"The process never wrote '{text}' ({count}).");
}
