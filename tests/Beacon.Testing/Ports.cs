using System.Net.Sockets;

namespace Beacon.Testing;

/// <summary>Loopback ports for processes the tests start.</summary>
public static class Ports
{
    /// <summary>The offsets of a platform's ports from its base: gateway (HTTP, gRPC) and five services (HTTP, gRPC).</summary>
    private static readonly int[] PlatformOffsets = [0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51];

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A base port (a multiple of 100 from <paramref name="fromHundreds"/> × 100 up to <paramref name="toHundreds"/> × 100)
    /// whose gateway and service ports (base .. base+51) are all free.
    /// </summary>
    public static int FreePlatformBase(int fromHundreds, int toHundreds)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(fromHundreds, toHundreds) * 100;
            if (PlatformOffsets.All(o => IsFree(port + o)))
            {
                return port;
            }
        }
        throw new InvalidOperationException("No free port range found.");
    }
}
