namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Ports for servers the tests kill and restart on the same port (PostgreSQL, Redis): below the system's ephemeral
/// range, because a port in it may meanwhile become the local port of any outgoing connection (another test's), and
/// the restart would then fail with "address already in use".
/// </summary>
public static class StablePort
{
    /// <summary>A free loopback port below the ephemeral range.</summary>
    public static int Next()
    {
        var range = File.Exists("/proc/sys/net/ipv4/ip_local_port_range") ? File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries) : [];
        var ephemeralStart = range.Length > 0 && int.TryParse(range[0], out var low) ? low : 32768;
        for (var port = Random.Shared.Next(10_000, ephemeralStart - 1000); ; port = port + 1 < ephemeralStart ? port + 1 : 10_000)
        {
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken: the next one.
            }
        }
    }
}
