using System.Threading.Channels;
using Npgsql;

namespace LlmMiddleware.PostgreSql;

/// <summary>What the stores that follow a LISTEN/NOTIFY channel share.</summary>
internal static class PostgreSqlListener
{
    /// <summary>Waits on the listening connection (notifications are delivered while it waits) until cancelled or
    /// broken; a broken connection completes <paramref name="announced"/> with its error, ending the watch.</summary>
    public static async Task WaitForNotificationsAsync<T>(NpgsqlConnection listener, ChannelWriter<T> announced, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await listener.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            announced.TryComplete(ex is OperationCanceledException ? null : ex);
        }
    }
}
